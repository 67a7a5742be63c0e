package beckon

import (
	"context"
	"time"
)

// InboundQuerier holds inbound messages (InboundSMS) (a patient's SMS reply) beside the
// message log, and what finds their clinic and patient.
type InboundQuerier interface {
	// InboundSMSPut stores m once per (Provider, ProviderID): with a clinic, in
	// the message log too (direction inbound), in one transaction. A message
	// stored already is returned as stored with created false.
	InboundSMSPut(ctx context.Context, m InboundSMS) (stored InboundSMS, created bool, err error)
	// InboundSMSPutMany stores each of ms as InboundSMSPut does, all in one
	// transaction, and returns one result per message, in order (a message
	// twice in ms is stored once: the later ones are returned as stored
	// before). With findPatients, a new message of a clinic without a
	// patient gets the one patient of its clinic with its From number (none
	// when several patients have it).
	InboundSMSPutMany(ctx context.Context, ms []InboundSMS, findPatients bool) ([]InboundSMSPutResult, error)
	// InboundSMSGet returns the clinic's inbound message ("" for messages no
	// clinic owns); ErrNotFound if it has none with that id.
	InboundSMSGet(ctx context.Context, clinicID, id string) (InboundSMS, error)
	// InboundSMSGetMany returns the clinic's inbound messages among ids, by id.
	InboundSMSGetMany(ctx context.Context, clinicID string, ids []string) (map[string]InboundSMS, error)
	// InboundSMSInterpreted records the interpretation on the clinic's message
	// once: a message interpreted already is left as it is (false).
	InboundSMSInterpreted(ctx context.Context, p InboundInterpretParams) (bool, error)
	// InboundSMSListPending lists messages of every clinic not yet interpreted
	// and last handed to asynq before queuedBefore, least recently queued
	// first, at most limit (default 100).
	InboundSMSListPending(ctx context.Context, queuedBefore time.Time, limit int) ([]InboundSMS, error)
	// InboundSMSMarkQueued records that the messages were handed to asynq at at.
	InboundSMSMarkQueued(ctx context.Context, ids []string, at time.Time) error
	// InboundSMSListNeedsAttention lists the clinic's messages that need a
	// person and are not handled yet, newest first, at most limit (default 100).
	InboundSMSListNeedsAttention(ctx context.Context, clinicID string, limit int) ([]InboundSMS, error)
	// InboundSMSHandled marks the clinic's message handled by by at at;
	// ErrNotFound if the clinic has no such message. Handled again: no change.
	InboundSMSHandled(ctx context.Context, clinicID, id, by string, at time.Time) (InboundSMS, error)
	// InboundSMSLastFrom is when the clinic last received a message from the
	// patient (zero if never).
	InboundSMSLastFrom(ctx context.Context, clinicID, patientID string) (time.Time, error)

	// ClinicBySender returns the ids of the clinics whose Twilio sender is
	// the number from (when set) or the messaging service sid (when set).
	ClinicBySender(ctx context.Context, from, messagingServiceSID string) ([]string, error)
	// ClinicListWithoutTwilioAccount returns the ids of at most two clinics
	// that send through the installation's Twilio account (no account of
	// their own): enough to tell whether there is exactly one.
	ClinicListWithoutTwilioAccount(ctx context.Context) ([]string, error)
	// PatientListByPhone returns the ids of the clinic's patients with that
	// phone number, at most limit.
	PatientListByPhone(ctx context.Context, clinicID, phone string, limit int) ([]string, error)
}

// Interpretation states of an inbound message.
const (
	InterpretationPending = "pending" // stored; the interpreter has not decided yet
)

// InboundSMS is one message a patient sent (an SMS reply), kept
// whether or not Beckon knows its clinic or its sender.
type InboundSMS struct {
	ID          string // "msg_…", the message log's id too
	ClinicID    string // "": no clinic owns the number it was sent to
	PatientID   string // "": no single patient of the clinic has the number
	Channel     Channel
	Provider    string // twilio
	ProviderID  string // MessageSid
	From        string
	To          string
	Body        string
	OptOutType  string // Twilio's OptOutType (STOP, START, HELP) when it handled a keyword
	NumSegments int
	NumMedia    int
	ReceivedAt  time.Time
	QueuedAt    time.Time // last handed to asynq (ReceivedAt until then)
	// Set once interpreted.
	InterpretedAt  time.Time
	Intent         string
	Interpretation []byte // JSON detail
	NeedsAttention bool
	HandledBy      string
	HandledAt      time.Time
}

// InboundInterpretParams records an interpretation.
type InboundInterpretParams struct {
	ClinicID       string
	ID             string
	Intent         string
	Interpretation []byte // JSON, may be empty
	NeedsAttention bool
	At             time.Time
}

// InboundSMSPutResult is what InboundSMSPutMany did with one message: the
// message as stored, and whether this call stored it.
type InboundSMSPutResult struct {
	Stored  InboundSMS
	Created bool
}
