package conversation

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/replies"
	"github.com/beckonhealth/beckon/scheduler"
)

// Defaults of an Interpreter.
const (
	// DefaultMessagedWithin: a reply is about an appointment Beckon messaged
	// within this long before it.
	DefaultMessagedWithin = 7 * 24 * time.Hour
	// maxCandidates bounds the which-appointment question.
	maxCandidates = 9
	// conflictTries is how often a reply's transaction is run again after a
	// version race with a concurrent change of the appointment.
	conflictTries = 5
)

// DataChoices is the key of a which-appointment answer's Data: the
// appointment ids offered, one per line, in order.
const DataChoices = "choices"

// ErrInterpreted means the message was interpreted already (by an earlier
// run of its task): nothing more is done.
var ErrInterpreted = errors.New("conversation: the message was interpreted already")

// Confirmer records a patient's answer about an appointment inside the
// caller's transaction (scheduler.Service.ConfirmIn).
type Confirmer interface {
	ConfirmIn(ctx context.Context, q beckon.Querier, c beckon.Confirmation) (scheduler.ConfirmResult, error)
}

// Interpreter reads a stored inbound SMS and applies what it says: all its
// effects (the appointment's answer, the number's consent, the answer to
// the patient, the question left open, the events, the interpretation
// itself) in one transaction, which marks the message interpreted. A task
// run twice finds it interpreted and does nothing (ErrInterpreted).
type Interpreter struct {
	Store   beckon.Store
	Confirm Confirmer
	Clock   beckon.Clock
	Logger  *slog.Logger
	// MessagedWithin: see DefaultMessagedWithin.
	MessagedWithin time.Duration
	// Committed, if set, is called after the transaction committed with the
	// sends it planned and the write-backs it recorded, to hand them to
	// asynq at once (else the pump does within a pass).
	Committed func(ctx context.Context, sends []beckon.Send, writebacks []beckon.Writeback)
}

// Interpretation is what is recorded on the message (its interpretation
// JSON): what was read and what was done, without the message's text.
type Interpretation struct {
	Intent        string `json:"intent"`
	Keyword       string `json:"keyword,omitempty"`
	Choice        int    `json:"choice,omitempty"`
	AppointmentID string `json:"appointment_id,omitempty"`
	Response      string `json:"response,omitempty"`
	Consent       string `json:"consent,omitempty"`
	Answer        string `json:"answer,omitempty"`
	AnswerSendID  string `json:"answer_send_id,omitempty"`
	Acknowledged  bool   `json:"acknowledged,omitempty"`
	Question      string `json:"question,omitempty"` // "which" when one was asked
	Note          string `json:"note"`
}

// Interpret interprets the clinic's inbound message id and applies it.
func (i *Interpreter) Interpret(ctx context.Context, clinicID, id string) (Interpretation, error) {
	var (
		res    Interpretation
		sends  []beckon.Send
		wbs    []beckon.Writeback
		err    error
		logger = cmp.Or(i.Logger, slog.Default())
	)
	for try := range conflictTries {
		sends, wbs = nil, nil
		err = i.Store.InTx(ctx, func(q beckon.Querier) error {
			var e error
			res, sends, wbs, e = i.apply(ctx, q, clinicID, id)
			return e
		})
		if !errors.Is(err, beckon.ErrConflict) || try == conflictTries-1 {
			break
		}
	}
	if err != nil {
		return res, err
	}
	logger.Info("reply interpreted", slog.String("message_id", id), slog.String("intent", res.Intent),
		slog.String("appointment_id", res.AppointmentID), slog.String("answer", res.Answer))
	if i.Committed != nil && (len(sends) > 0 || len(wbs) > 0) {
		i.Committed(ctx, sends, wbs)
	}
	return res, nil
}

// apply is one try of Interpret's transaction.
func (i *Interpreter) apply(ctx context.Context, q beckon.Querier, clinicID, id string) (Interpretation, []beckon.Send, []beckon.Writeback, error) {
	msg, err := q.InboundSMSGet(ctx, clinicID, id)
	if err != nil {
		return Interpretation{}, nil, nil, fmt.Errorf("load inbound message: %w", err)
	}
	if !msg.InterpretedAt.IsZero() {
		return Interpretation{}, nil, nil, ErrInterpreted
	}
	now := i.Clock.Now()
	clinic, err := q.ClinicGet(ctx, clinicID)
	if err != nil {
		return Interpretation{}, nil, nil, fmt.Errorf("load clinic: %w", err)
	}
	in, lang, err := i.input(ctx, q, msg, now)
	if err != nil {
		return Interpretation{}, nil, nil, err
	}
	o := Decide(in)
	res := Interpretation{
		Intent: string(o.Reply.Intent), Keyword: o.Reply.Keyword, Choice: o.Reply.Choice,
		AppointmentID: o.AppointmentID, Response: o.Response, Consent: o.Consent, Note: o.Note,
	}
	e := effects{q: q, msg: msg, now: now, clinic: clinic, lang: lang}
	if o.Consent != "" {
		if err := e.consent(ctx, o.Consent); err != nil {
			return res, nil, nil, err
		}
	}
	var wbs []beckon.Writeback
	patientID := msg.PatientID
	if o.Response != "" {
		r, err := i.Confirm.ConfirmIn(ctx, q, beckon.Confirmation{
			ID: "cnf_" + strings.TrimPrefix(msg.ID, "msg_"), ClinicID: clinicID, AppointmentID: o.AppointmentID,
			Response: o.Response, By: "patient", Method: "sms", Actor: "sms-reply",
		})
		if err != nil {
			return res, nil, nil, fmt.Errorf("record the answer: %w", err)
		}
		wbs = r.Writebacks
		patientID = r.Appointment.PatientID
	}
	if err := e.state(ctx, in.State, o.State); err != nil {
		return res, nil, nil, err
	}
	if o.Answer == TemplateWhich {
		res.Question = "which"
	}
	var sends []beckon.Send
	if o.Answer != "" {
		s, err := e.answer(ctx, o, patientID)
		if err != nil {
			return res, nil, nil, err
		}
		res.Answer, res.AnswerSendID = o.Answer, s.ID
		sends = append(sends, s)
	}
	if o.Acknowledge {
		s, created, err := e.acknowledge(ctx, patientID)
		if err != nil {
			return res, nil, nil, err
		}
		if created {
			res.Acknowledged, res.AnswerSendID = true, s.ID
			sends = append(sends, s)
		}
	}
	if err := e.events(ctx, o, res); err != nil {
		return res, nil, nil, err
	}
	detail, err := json.Marshal(res)
	if err != nil {
		return res, nil, nil, err
	}
	ok, err := q.InboundSMSInterpreted(ctx, beckon.InboundInterpretParams{
		ClinicID: clinicID, ID: msg.ID, Intent: res.Intent, Interpretation: detail,
		NeedsAttention: o.NeedsAttention, At: now,
	})
	if err != nil {
		return res, nil, nil, fmt.Errorf("record the interpretation: %w", err)
	}
	if !ok {
		// Another run interpreted it while this one ran: this one's writes
		// roll back.
		return res, nil, nil, ErrInterpreted
	}
	return res, sends, wbs, nil
}

// input gathers what Decide reads about the message's number, and the
// language to answer in.
func (i *Interpreter) input(ctx context.Context, q beckon.Querier, msg beckon.InboundSMS, now time.Time) (Input, string, error) {
	in := Input{Body: msg.Body, OptOutType: strings.ToUpper(msg.OptOutType), Now: now}
	st, err := q.ConversationGet(ctx, msg.ClinicID, msg.From)
	if err != nil {
		return in, "", fmt.Errorf("load the conversation: %w", err)
	}
	in.State = fromStored(st)
	consent, err := q.ConsentPhoneState(ctx, msg.ClinicID, msg.From)
	if err != nil {
		return in, "", fmt.Errorf("load the number's consent: %w", err)
	}
	in.OptedOut = consent == beckon.ConsentOptedOut
	within := cmp.Or(i.MessagedWithin, DefaultMessagedWithin)
	cs, err := q.ReplyCandidates(ctx, msg.ClinicID, msg.From, now, now.Add(-within), maxCandidates)
	if err != nil {
		return in, "", fmt.Errorf("find the appointments: %w", err)
	}
	for _, c := range cs {
		in.Candidates = append(in.Candidates, Candidate{AppointmentID: c.AppointmentID, PatientID: c.PatientID, FirstName: c.FirstName, Start: c.Start})
		if in.Language == "" {
			in.Language = c.Language
		}
	}
	if in.Language == "" && msg.PatientID != "" {
		p, err := q.PatientGet(ctx, msg.ClinicID, msg.PatientID)
		if err != nil && !errors.Is(err, beckon.ErrNotFound) {
			return in, "", fmt.Errorf("load the patient: %w", err)
		}
		in.Language = p.Language
	}
	return in, in.Language, nil
}

// fromStored is the stored conversation state as Decide reads it.
func fromStored(s beckon.ConversationState) State {
	if s.Question != "which" {
		return State{}
	}
	return State{Question: replies.Which, Choices: s.Choices, Pending: replies.Intent(s.Pending), MessageID: s.MessageID, ExpiresAt: s.ExpiresAt}
}
