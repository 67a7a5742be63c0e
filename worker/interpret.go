package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/tasks"
)

// Interpretation is what an Interpreter decided about an inbound message,
// recorded on it.
type Interpretation struct {
	Intent         string // e.g. beckon.InterpretationPending
	Detail         []byte // JSON detail, may be nil
	NeedsAttention bool   // a person should read it (the clinic's inbox)
	// Sends are the message sends the interpreter planned (answers); they
	// are handed to asynq once the transaction has committed.
	Sends []beckon.Send
	// Writebacks are the EHR updates an answer recorded; handed to asynq
	// once the transaction has committed (else the pump does).
	Writebacks []beckon.Writeback
}

// Interpreter decides what an inbound message means and applies its
// effects through q, a transaction that also records the interpretation:
// the effects and the record commit together, once (a second run of the
// task, or one racing it, finds the message interpreted and changes
// nothing). m is the stored message, read within its clinic.
type Interpreter interface {
	Interpret(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (Interpretation, error)
}

// InterpreterFunc adapts a function to Interpreter.
type InterpreterFunc func(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (Interpretation, error)

// Interpret calls f.
func (f InterpreterFunc) Interpret(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (Interpretation, error) {
	return f(ctx, q, m)
}

// Pending is the Interpreter until replies are read: every message is
// recorded as pending and put before a person.
var Pending = InterpreterFunc(func(context.Context, beckon.Querier, beckon.InboundSMS) (Interpretation, error) {
	return Interpretation{Intent: beckon.InterpretationPending, NeedsAttention: true}, nil
})

// InterpretHandler is the asynq handler of tasks.TypeInterpret.
type InterpretHandler struct {
	store       beckon.Store
	interpreter Interpreter
	clock       beckon.Clock
	logger      *slog.Logger
	// Tasks, when set, hands the interpretation's sends to asynq at once
	// (else the pump does, on its next pass), on Queue with MaxRetry.
	Tasks    *asynq.Client
	Queue    string
	MaxRetry int
	// Metrics counts the messages interpreted by intent; nil: nothing is
	// counted.
	Metrics Metrics
}

// NewInterpretHandler returns the handler; a nil interpreter is Pending.
func NewInterpretHandler(st beckon.Store, in Interpreter, clock beckon.Clock, logger *slog.Logger) *InterpretHandler {
	if in == nil {
		in = Pending
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &InterpretHandler{store: st, interpreter: in, clock: clock, logger: logger.With(slog.String("component", "interpret"))}
}

// errInterpreted rolls back a run that found the message interpreted.
var errInterpreted = errors.New("inbound message already interpreted")

// ProcessTask implements asynq.Handler.
func (h *InterpretHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseInterpretPayload(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return h.Interpret(ctx, p.ClinicID, p.MessageID)
}

// Interpret interprets the clinic's inbound message once. A message the
// clinic does not have is logged and ignored.
func (h *InterpretHandler) Interpret(ctx context.Context, clinicID, messageID string) error {
	log := h.logger.With(slog.String("clinic_id", clinicID), slog.String("message_id", messageID))
	var res Interpretation
	err := h.store.InTx(ctx, func(q beckon.Querier) error {
		m, err := q.InboundSMSGet(ctx, clinicID, messageID)
		if err != nil {
			return err
		}
		if !m.InterpretedAt.IsZero() {
			return errInterpreted
		}
		res, err = h.interpreter.Interpret(ctx, q, m)
		if err != nil {
			return fmt.Errorf("interpret: %w", err)
		}
		ok, err := q.InboundSMSInterpreted(ctx, beckon.InboundInterpretParams{
			ClinicID: clinicID, ID: messageID, Intent: res.Intent, Interpretation: res.Detail,
			NeedsAttention: res.NeedsAttention, At: h.clock.Now(),
		})
		if err == nil && !ok {
			err = errInterpreted
		}
		return err
	})
	switch {
	case errors.Is(err, beckon.ErrNotFound):
		log.Warn("interpret task for a message the clinic does not have")
		return nil
	case errors.Is(err, errInterpreted):
		log.Debug("inbound message already interpreted")
		return nil
	case err != nil:
		return err
	}
	metricsOr(h.Metrics).InboundMessage(res.Intent)
	log.Info("inbound message interpreted", slog.String("intent", res.Intent),
		slog.Bool("needs_attention", res.NeedsAttention), slog.Int("answers", len(res.Sends)))
	if h.Tasks != nil && len(res.Writebacks) > 0 {
		if err := scheduler.EnqueueWritebacks(ctx, h.Tasks, h.Queue, res.Writebacks); err != nil {
			log.Warn("write-back not queued; the pump queues it", slog.String("error", err.Error()))
		}
	}
	for _, sd := range res.Sends {
		if h.Tasks == nil {
			break
		}
		if err := scheduler.EnqueueSend(ctx, h.Tasks, h.store, sd, h.Queue, h.MaxRetry, h.clock.Now()); err != nil {
			log.Warn("answer not queued; the pump queues it", slog.String("send_id", sd.ID), slog.String("error", err.Error()))
		}
	}
	return nil
}
