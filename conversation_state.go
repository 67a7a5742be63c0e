package beckon

import (
	"context"
	"time"
)

// ConversationQuerier holds what a conversation with a number left open,
// and finds the appointments a reply from that number may be about.
type ConversationQuerier interface {
	// ConversationGet returns what the clinic's conversation with phone left
	// open (the zero state, with ClinicID and Phone set, if nothing).
	ConversationGet(ctx context.Context, clinicID, phone string) (ConversationState, error)
	// ConversationPut stores s as the conversation's open question; a state
	// with an empty Question clears it.
	ConversationPut(ctx context.Context, s ConversationState) error
	// ReplyCandidates lists the appointments a reply from phone may be
	// about: those of the clinic's patients with that number that start
	// after now, are not cancelled or missed, and had a send sent at or
	// after messagedSince; soonest first, at most limit.
	ReplyCandidates(ctx context.Context, clinicID, phone string, now, messagedSince time.Time, limit int) ([]ReplyCandidate, error)
}

// ConversationState is the question a conversation with a number left
// open: "which appointment?" with its choices and the answer waiting for
// the choice.
type ConversationState struct {
	ClinicID  string
	Phone     string
	Question  string   // "" (none) or "which"
	Choices   []string // appointment ids, in the order offered
	Pending   string   // the intent the choice applies (confirm, cancel, reschedule)
	MessageID string   // the inbound message that opened it
	ExpiresAt time.Time
	UpdatedAt time.Time
}

// ReplyCandidate is an appointment a reply may be about, with what the
// which-appointment question shows of it.
type ReplyCandidate struct {
	AppointmentID string
	PatientID     string
	FirstName     string
	Language      string
	TimeZone      string // the patient's; empty means the clinic's
	Start         time.Time
}

// MessageDataChoices is the key of a message send's Data that lists the
// appointments a which-appointment question offers, one id per line, in
// the order offered.
const MessageDataChoices = "choices"
