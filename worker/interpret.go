package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/coalesce"
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

// BatchInterpreter is an Interpreter that also interprets several messages
// at once, through one q, with one Interpretation per message, in order;
// msgs are in the order received, and a number's messages must be
// interpreted in that order. An error fails them all.
type BatchInterpreter interface {
	Interpreter
	InterpretBatch(ctx context.Context, q beckon.Querier, msgs []beckon.InboundSMS) ([]Interpretation, error)
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
	// lanes batch the messages interpreted at the same moment; see
	// interpretIn.
	lanes []*coalesce.Batcher[interpretRef, error]
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
	h := &InterpretHandler{store: st, interpreter: in, clock: clock, logger: logger.With(slog.String("component", "interpret"))}
	h.lanes = make([]*coalesce.Batcher[interpretRef, error], interpretLanes)
	for i := range h.lanes {
		h.lanes[i] = &coalesce.Batcher[interpretRef, error]{
			Max: interpretBatchMax, Lanes: 1, Timeout: interpretTimeout, Run: h.runBatch,
		}
	}
	return h
}

// errInterpreted rolls back a run that found the message interpreted.
var errInterpreted = errors.New("inbound message already interpreted")

// ProcessTask implements asynq.Handler.
func (h *InterpretHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseInterpretPayload(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return h.interpretIn(ctx, p.Lane, p.ClinicID, p.MessageID)
}

// Interpret interprets the clinic's inbound message once. A message the
// clinic does not have is logged and ignored.
func (h *InterpretHandler) Interpret(ctx context.Context, clinicID, messageID string) error {
	return h.interpretIn(ctx, 0, clinicID, messageID)
}

// interpretOne interprets one message in a transaction of its own.
func (h *InterpretHandler) interpretOne(ctx context.Context, ref interpretRef) error {
	var done []interpreted
	err := h.store.InTx(ctx, func(q beckon.Querier) error {
		var err error
		done, err = h.interpretAll(ctx, q, []interpretRef{ref})
		return err
	})
	switch {
	case errors.Is(err, errInterpreted):
		h.logger.Debug("inbound message already interpreted", slog.String("clinic_id", ref.clinicID), slog.String("message_id", ref.messageID))
		return nil
	case err != nil:
		return err
	}
	h.committed(ctx, done)
	return nil
}

// interpretAll interprets the messages of refs through q, in the order their
// clinics received them; a message not found or interpreted already is
// passed over. Any failure fails the whole: the caller rolls back.
func (h *InterpretHandler) interpretAll(ctx context.Context, q beckon.Querier, refs []interpretRef) ([]interpreted, error) {
	msgs, missing, err := loadInbound(ctx, q, refs)
	if err != nil {
		return nil, err
	}
	for _, r := range missing {
		h.logger.Warn("interpret task for a message the clinic does not have",
			slog.String("clinic_id", r.clinicID), slog.String("message_id", r.messageID))
	}
	todo := msgs[:0]
	for _, m := range msgs {
		if m.InterpretedAt.IsZero() {
			todo = append(todo, m)
		}
	}
	results, err := h.interpretMany(ctx, q, todo)
	if err != nil {
		return nil, err
	}
	done := make([]interpreted, len(todo))
	for k, m := range todo {
		res := results[k]
		ok, err := q.InboundSMSInterpreted(ctx, beckon.InboundInterpretParams{
			ClinicID: m.ClinicID, ID: m.ID, Intent: res.Intent, Interpretation: res.Detail,
			NeedsAttention: res.NeedsAttention, At: h.clock.Now(),
		})
		if err == nil && !ok {
			// Another run interpreted it while this one did: this run's
			// effects roll back.
			err = errInterpreted
		}
		if err != nil {
			return nil, err
		}
		done[k] = interpreted{msg: m, res: res}
	}
	return done, nil
}

// interpretMany interprets msgs through q: at once when the interpreter
// can, else one by one.
func (h *InterpretHandler) interpretMany(ctx context.Context, q beckon.Querier, msgs []beckon.InboundSMS) ([]Interpretation, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	if bi, ok := h.interpreter.(BatchInterpreter); ok {
		out, err := bi.InterpretBatch(ctx, q, msgs)
		if err == nil && len(out) != len(msgs) {
			err = fmt.Errorf("%d interpretations for %d messages", len(out), len(msgs))
		}
		if err != nil {
			return nil, fmt.Errorf("interpret: %w", err)
		}
		return out, nil
	}
	out := make([]Interpretation, len(msgs))
	for k, m := range msgs {
		res, err := h.interpreter.Interpret(ctx, q, m)
		if err != nil {
			return nil, &messageError{id: m.ID, err: fmt.Errorf("interpret: %w", err)}
		}
		out[k] = res
	}
	return out, nil
}

// committed logs the interpretations a transaction committed and hands
// their answers and write-backs to asynq.
func (h *InterpretHandler) committed(ctx context.Context, done []interpreted) {
	for _, d := range done {
		log := h.logger.With(slog.String("clinic_id", d.msg.ClinicID), slog.String("message_id", d.msg.ID))
		res := d.res
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
	}
}
