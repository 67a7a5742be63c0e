package conversation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
)

// Confirmer records patients' answers about a clinic's appointments inside
// the caller's transaction, together (scheduler.Service.ConfirmManyIn).
type Confirmer interface {
	ConfirmManyIn(ctx context.Context, q beckon.Querier, clinicID string, cs []beckon.Confirmation) ([]scheduler.ConfirmResult, error)
}

// Interpreter reads a stored inbound SMS and decides and writes what it
// does: the appointment's answer, the number's consent, the answer to the
// patient, the question left open, the events. Apply runs inside the
// transaction of the interpretation task (worker.InterpretHandler), which
// records the interpretation in the same transaction: the effects and the
// record commit together, once.
type Interpreter struct {
	Confirm Confirmer
	Clock   beckon.Clock
	// MessagedWithin: see DefaultMessagedWithin.
	MessagedWithin time.Duration
}

// Result is what Apply decided and wrote.
type Result struct {
	Interpretation Interpretation
	// Detail is Interpretation as JSON, the message's recorded detail.
	Detail         []byte
	NeedsAttention bool
	// Sends are the answers planned, and Writebacks the EHR updates the
	// answer recorded: to hand to asynq once the transaction committed.
	Sends      []beckon.Send
	Writebacks []beckon.Writeback
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

// Apply interprets msg, a message of a clinic, and writes its effects
// through q (the caller's transaction).
func (i *Interpreter) Apply(ctx context.Context, q beckon.Querier, msg beckon.InboundSMS) (Result, error) {
	out, err := i.ApplyBatch(ctx, q, []beckon.InboundSMS{msg})
	if err != nil {
		return Result{}, err
	}
	return out[0], nil
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
