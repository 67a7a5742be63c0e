package beckon

import "time"

// Message directions.
const (
	Outbound = "outbound"
	Inbound  = "inbound"
)

// Message statuses (outbound: queued → sent → delivered | undelivered | failed;
// inbound: received).
const (
	MessageQueued      = "queued"
	MessageSent        = "sent"
	MessageDelivered   = "delivered"
	MessageUndelivered = "undelivered"
	MessageFailed      = "failed"
	MessageReceived    = "received"
)

// Message is one message in the log, outbound or inbound.
type Message struct {
	ID            string
	ClinicID      string
	PatientID     string
	AppointmentID string // may be empty
	SendID        string // empty for inbound and ad-hoc messages
	Direction     string
	Channel       Channel
	To            string
	From          string
	Subject       string
	Body          string
	HTML          string
	Status        string
	Provider      string // outbox, twilio, sendgrid
	ProviderID    string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Events        []MessageEvent // filled by MessageGet, newest last
}

// MessageEvent is one status change of a message.
type MessageEvent struct {
	MessageID string
	Status    string
	Detail    string
	At        time.Time
}

// OutboxEntry is what the outbox channel "delivered": the patient's phone or inbox.
type OutboxEntry struct {
	ID       string
	ClinicID string
	SendID   string // unique: the outbox keeps one entry per send
	Channel  Channel
	To       string
	Subject  string
	Body     string
	HTML     string
	// Headers are the extra mail headers of an email (List-Unsubscribe,
	// List-Unsubscribe-Post), as a provider would have sent them; nil when none.
	Headers   map[string]string
	CreatedAt time.Time
}
