package beckon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// TwoWayQuerier is the store's part of two-way messaging: inbound messages
// and the sends that answer them.
type TwoWayQuerier interface {
	MessageSendQuerier
	InboundQuerier
}

// MessageSendQuerier holds the sends that are not a campaign step: answers
// to a patient's reply and staff's free-text messages. Each is a row of the
// send ledger like any other (claimed once, re-checked, recorded, its status
// callbacks applied), with its content and exemptions kept beside it.
type MessageSendQuerier interface {
	// SendPlanMessage plans the message send p.ID. A send with that id
	// already planned or done changes nothing: it is returned as it is with
	// created false. It works inside a caller's transaction.
	SendPlanMessage(ctx context.Context, p MessageSendParams) (s Send, created bool, err error)
	// SendMessageGet returns what a message send carries beyond its ledger
	// row; ErrNotFound if the clinic has no message send with that id.
	SendMessageGet(ctx context.Context, clinicID, sendID string) (MessageSendParams, error)
}

// MessageSendParams is a send that is not a campaign step.
type MessageSendParams struct {
	ID            string  // deterministic: e.g. "snd_ans_"+inbound message id (+ a suffix per answer)
	ClinicID      string  //
	PatientID     string  // may be empty only with To set (a number no patient has)
	To            string  // optional: overrides the patient's number (answers to unknown numbers)
	AppointmentID string  // optional: the appointment the answer is about (template data)
	Channel       Channel // ChannelSMS (email later)
	Template      string  // a template name (answers), or
	Text          string  // staff's free text (exactly one of Template and Text)
	Language      string  // optional: overrides the patient's language
	InReplyTo     string  // the inbound message id it answers, if any
	ConsentExempt bool    // the single opt-out confirmation: goes to an opted-out number
	QuietExempt   bool    // an answer to the patient's own message within 24 h: may go in quiet hours
	// Data is extra template data (the which-appointment choices as JSON, a
	// help text); at most MaxMessageDataBytes in all.
	Data  map[string]string
	By    string // who asked for it (staff, "system")
	DueAt time.Time
}

// Limits of a message send.
const (
	MaxMessageTextChars = 1600 // a free text, in characters (Twilio's limit)
	MaxMessageDataBytes = 4096 // Data's keys and values together
)

// IsMessage reports that the send is a message send (SendPlanMessage), not
// a campaign step's: every step send has its campaign.
func (s Send) IsMessage() bool { return s.CampaignID == "" }

// Validate checks the params' own rules: the ids, one recipient, exactly one
// of Template and Text, a text that can be sent, small Data. The error names
// the field at fault and never echoes a value.
func (p MessageSendParams) Validate() error {
	switch {
	case p.ID == "" || p.ClinicID == "":
		return errors.New("a message send needs its id and clinic")
	case p.PatientID == "" && p.To == "":
		return errors.New("a message send needs a patient or a number to send to")
	case p.Channel != ChannelSMS:
		return errors.New("channel: only sms is supported for message sends")
	case (p.Template == "") == (p.Text == ""):
		return errors.New("exactly one of template and text is required")
	case p.Text != "" && strings.TrimSpace(p.Text) == "":
		return errors.New("text is blank")
	case utf8.RuneCountInString(p.Text) > MaxMessageTextChars:
		return fmt.Errorf("text is longer than %d characters", MaxMessageTextChars)
	case strings.ContainsRune(p.Text, 0) || !utf8.ValidString(p.Text):
		return errors.New("text holds a NUL character or invalid UTF-8")
	}
	n := 0
	for k, v := range p.Data {
		n += len(k) + len(v)
	}
	if n > MaxMessageDataBytes {
		return fmt.Errorf("data is larger than %d bytes", MaxMessageDataBytes)
	}
	return nil
}
