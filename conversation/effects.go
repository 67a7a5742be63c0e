package conversation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/replies"
)

// effects writes what a reply does, inside its transaction, with ids
// derived from the inbound message: the writes of a run that rolled back
// are written again, the same, by the next.
type effects struct {
	q      beckon.Querier
	msg    beckon.InboundSMS
	now    time.Time
	clinic beckon.Clinic
	lang   string
}

// suffix is the message's id without its prefix, for the ids derived from it.
func (e effects) suffix() string { return strings.TrimPrefix(e.msg.ID, "msg_") }

// consent records the number's new SMS consent in the ledger.
func (e effects) consent(ctx context.Context, state string) error {
	_, err := e.q.ConsentRecord(ctx, beckon.ConsentChange{
		ID: "cns_" + e.suffix(), ClinicID: e.msg.ClinicID, PatientID: e.msg.PatientID, Phone: e.msg.From,
		Channel: beckon.ChannelSMS, State: state, How: beckon.ConsentKeyword, Text: e.msg.Body,
		MessageID: e.msg.ID, By: "patient", At: e.now,
	})
	if err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	return nil
}

// state stores the question the reply leaves open, when it changed.
func (e effects) state(ctx context.Context, before, after State) error {
	if before.Question == after.Question && before.MessageID == after.MessageID && before.ExpiresAt.Equal(after.ExpiresAt) {
		return nil
	}
	s := beckon.ConversationState{ClinicID: e.msg.ClinicID, Phone: e.msg.From, UpdatedAt: e.now}
	if after.Question == replies.Which {
		s.Question, s.Choices, s.Pending, s.ExpiresAt = "which", after.Choices, string(after.Pending), after.ExpiresAt
		s.MessageID = e.msg.ID
	}
	if err := e.q.ConversationPut(ctx, s); err != nil {
		return fmt.Errorf("store the conversation: %w", err)
	}
	return nil
}

// message is a message send answering the reply, to patientID (or, for a
// number no patient has, to the number).
func (e effects) message(id, template, patientID string) beckon.MessageSendParams {
	p := beckon.MessageSendParams{
		ID: id, ClinicID: e.msg.ClinicID, PatientID: patientID, Channel: beckon.ChannelSMS,
		Template: template, Language: e.lang, InReplyTo: e.msg.ID, QuietExempt: true,
		By: "system", DueAt: e.now,
	}
	if patientID == "" {
		p.To = e.msg.From
	}
	return p
}

// answer plans the reply's answer: one per inbound message.
func (e effects) answer(ctx context.Context, o Outcome, patientID string) (beckon.Send, error) {
	p := e.message("snd_ans_"+e.suffix(), o.Answer, patientID)
	p.AppointmentID, p.ConsentExempt = o.AppointmentID, o.AnswerExempt
	if len(o.Choices) > 0 {
		ids := make([]string, len(o.Choices))
		for k, c := range o.Choices {
			ids[k] = c.AppointmentID
		}
		p.Data = map[string]string{beckon.MessageDataChoices: strings.Join(ids, "\n")}
	}
	s, _, err := e.q.SendPlanMessage(ctx, p)
	if err != nil {
		return s, fmt.Errorf("plan the answer: %w", err)
	}
	return s, nil
}

// acknowledge plans the day's acknowledgement to the number, unless it has
// had it: its id is the clinic's, the number's and the clinic's date.
func (e effects) acknowledge(ctx context.Context, patientID string) (beckon.Send, bool, error) {
	loc, err := time.LoadLocation(e.clinic.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	day := e.now.In(loc).Format(time.DateOnly)
	id := "snd_ack_" + strings.TrimPrefix(beckon.EventID(e.msg.ClinicID, "ack", e.msg.From, day), "evt_")
	p := e.message(id, TemplateAcknowledgement, patientID)
	s, created, err := e.q.SendPlanMessage(ctx, p)
	if err != nil {
		return s, false, fmt.Errorf("plan the acknowledgement: %w", err)
	}
	return s, created, nil
}

// event is what the clinic's endpoints hear of the reply: the message (an
// answer about an appointment is an event of the confirmation path, a
// change of consent one of the ledger).
func (e effects) event(o Outcome, res Interpretation) (beckon.Event, error) {
	data, err := json.Marshal(map[string]any{
		"message_id":      e.msg.ID,
		"patient_id":      e.msg.PatientID,
		"channel":         beckon.ChannelSMS,
		"intent":          res.Intent,
		"appointment_id":  res.AppointmentID,
		"needs_attention": o.NeedsAttention,
		"received_at":     e.msg.ReceivedAt,
	})
	if err != nil {
		return beckon.Event{}, err
	}
	return beckon.Event{
		ID: beckon.EventID(e.msg.ClinicID, beckon.EventMessageReceived, e.msg.ID), ClinicID: e.msg.ClinicID,
		Type: beckon.EventMessageReceived, Data: data, At: e.now,
	}, nil
}
