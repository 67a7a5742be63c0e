package conversation

import (
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/replies"
)

// Answer templates (built in, en and es).
const (
	TemplateConfirmed          = "reply_confirmed"
	TemplateCancelReceived     = "reply_cancel_received"
	TemplateRescheduleReceived = "reply_reschedule_received"
	TemplateHelp               = "reply_help"
	TemplateOptedOut           = "reply_opted_out"
	TemplateOptedIn            = "reply_opted_in"
	TemplateWhich              = "reply_which_appointment"
	TemplateAcknowledgement    = "reply_acknowledgement"
)

// WhichTTL is how long a which-appointment question stays open (never past
// the first of the appointments it offers).
const WhichTTL = 24 * time.Hour

// Candidate is an appointment a reply may be about: an upcoming appointment
// of a patient with the sender's number that Beckon messaged recently.
type Candidate struct {
	AppointmentID string
	PatientID     string
	FirstName     string
	Start         time.Time
}

// State is what the conversation with a number left open.
type State struct {
	Question  replies.Question // NoQuestion or Which
	Choices   []string         // Which: the appointment ids in the order offered
	Pending   replies.Intent   // Which: what the answer applies
	MessageID string           // the inbound message that opened it
	ExpiresAt time.Time
}

// open reports whether s is an open question at now.
func (s State) open(now time.Time) bool {
	return s.Question == replies.Which && len(s.Choices) > 0 && now.Before(s.ExpiresAt)
}

// Input is everything Decide reads.
type Input struct {
	Body       string
	Language   string // the patient's, or "" for an unknown sender
	OptOutType string // Twilio's Advanced Opt-Out answered a keyword itself: STOP, START or HELP
	OptedOut   bool   // the number is opted out of SMS
	State      State
	// Candidates are the appointments the reply may be about, soonest first.
	Candidates []Candidate
	Now        time.Time
}

// Outcome is what a reply does. The zero values mean "nothing of that kind".
type Outcome struct {
	Reply replies.Reply
	// AppointmentID is the appointment the reply was applied to, and Response
	// the answer recorded for it (beckon.ResponseConfirmed, …CancelRequested,
	// …RescheduleRequested).
	AppointmentID string
	Response      string
	// Consent is the number's new SMS consent (beckon.ConsentOptedOut or
	// beckon.ConsentOptedIn).
	Consent string
	// Answer is the template of the answer the patient gets, about
	// AppointmentID (or, for TemplateWhich, offering Choices).
	Answer  string
	Choices []Candidate
	// AnswerExempt: the answer goes even to an opted-out number (the single
	// opt-out confirmation, help).
	AnswerExempt bool
	// Acknowledge: the message waits for a person; the patient gets the
	// daily acknowledgement unless one went out today.
	Acknowledge bool
	// NeedsAttention puts the message in front of the clinic.
	NeedsAttention bool
	// State is what the conversation leaves open after this reply.
	State State
	// Note says in a few words why (for the clinic; no PHI).
	Note string
}

// Decide reads a reply and decides its effects.
func Decide(in Input) Outcome {
	open := replies.Open{}
	switch {
	case in.OptedOut:
		open.Question = replies.OptedOut
	case in.State.open(in.Now):
		open = replies.Open{Question: replies.Which, Choices: len(in.State.Choices)}
	case len(in.Candidates) > 0:
		open.Question = replies.Reminder
	}
	r := replies.Interpret(in.Body, in.Language, open)
	o := Outcome{Reply: r}
	// A question stays open until it is answered or expires; a keyword or
	// free text in between does not close it.
	if in.State.open(in.Now) {
		o.State = in.State
	}
	switch r.Intent {
	case replies.OptOut:
		o.Consent = beckon.ConsentOptedOut
		o.State = State{}
		o.Note = "opt-out keyword"
		if in.OptOutType == "" {
			o.Answer, o.AnswerExempt = TemplateOptedOut, true
		}
		return o
	case replies.OptIn:
		o.Consent = beckon.ConsentOptedIn
		o.Note = "opt-in keyword"
		if in.OptOutType == "" {
			o.Answer = TemplateOptedIn
		}
		return o
	case replies.Help:
		o.Note = "help keyword"
		if in.OptOutType == "" {
			o.Answer, o.AnswerExempt = TemplateHelp, true
		}
		return o
	case replies.Choice:
		return decideChoice(in, o, r.Choice)
	case replies.Confirm, replies.Cancel, replies.Reschedule:
		return decideAbout(in, o, r.Intent)
	}
	o.NeedsAttention, o.Acknowledge = true, true
	o.Note = "free text for a person"
	return o
}

// decideAbout applies an answer about an appointment: to the one candidate,
// or, with several, asks which.
func decideAbout(in Input, o Outcome, intent replies.Intent) Outcome {
	switch len(in.Candidates) {
	case 0:
		// Nothing recently messaged to apply it to: a person decides.
		o.NeedsAttention, o.Acknowledge = true, true
		o.Note = "no recently messaged appointment to apply " + string(intent) + " to"
		return o
	case 1:
		return apply(o, in.Candidates[0], intent)
	}
	o.Answer, o.Choices = TemplateWhich, in.Candidates
	ids := make([]string, len(in.Candidates))
	expires := in.Now.Add(WhichTTL)
	for i, c := range in.Candidates {
		ids[i] = c.AppointmentID
		if c.Start.Before(expires) {
			expires = c.Start
		}
	}
	o.State = State{Question: replies.Which, Choices: ids, Pending: intent, ExpiresAt: expires}
	o.Note = "several appointments: asked which"
	return o
}

// decideChoice applies the pending answer of an open which-question to the
// chosen appointment.
func decideChoice(in Input, o Outcome, choice int) Outcome {
	s := in.State
	o.State = State{}
	id := s.Choices[choice-1]
	for _, c := range in.Candidates {
		if c.AppointmentID == id {
			return apply(o, c, s.Pending)
		}
	}
	// The chosen appointment was cancelled, moved or has begun since the
	// question: a person decides.
	o.NeedsAttention, o.Acknowledge = true, true
	o.Note = "the chosen appointment is no longer upcoming"
	return o
}

// apply records intent on the candidate's appointment, with its answer.
func apply(o Outcome, c Candidate, intent replies.Intent) Outcome {
	o.AppointmentID = c.AppointmentID
	switch intent {
	case replies.Confirm:
		o.Response, o.Answer, o.Note = beckon.ResponseConfirmed, TemplateConfirmed, "confirmed"
	case replies.Cancel:
		o.Response, o.Answer, o.Note = beckon.ResponseCancelRequested, TemplateCancelReceived, "cancel requested"
		o.NeedsAttention = true
	case replies.Reschedule:
		o.Response, o.Answer, o.Note = beckon.ResponseRescheduleRequested, TemplateRescheduleReceived, "reschedule requested"
		o.NeedsAttention = true
	}
	return o
}
