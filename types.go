package beckon

import "time"

// Clinic is a tenant. Every other record belongs to exactly one clinic.
type Clinic struct {
	ID       string
	Name     string
	TimeZone string // IANA zone, the default for its patients
	Phone    string // E.164, shown in messages ("call us at …"); may be empty
	// QuietHours is the window in the patient's local time in which nothing is sent.
	QuietHours QuietHours
	// PlanRevision counts the changes to what planning reads: the clinic's
	// fields and its campaigns (ClinicUpdate, CampaignPut and CampaignDelete
	// bump it). The store sets it; writes that give it are ignored.
	PlanRevision int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// QuietHours is a daily window [Start, End) in minutes after local midnight.
// Start > End means the window wraps midnight (the usual 21:00–08:00).
type QuietHours struct {
	Enabled     bool
	StartMinute int // 0..1439
	EndMinute   int // 0..1439
}

// DefaultQuietHours is 21:00–08:00, the TCPA calling window inverted.
var DefaultQuietHours = QuietHours{Enabled: true, StartMinute: 21 * 60, EndMinute: 8 * 60}

// Key roles.
const (
	RoleAdmin = "admin" // everything in its clinic
	RoleEHR   = "ehr"   // appointment and patient feeds
)

// APIKey is a bearer credential. Only the SHA-256 hash of the secret is kept.
type APIKey struct {
	ID        string
	ClinicID  string
	Name      string
	Role      string
	Hash      string // hex sha256 of the secret
	CreatedAt time.Time
}

// Channel names.
const (
	ChannelSMS       = "sms"
	ChannelEmail     = "email"
	ChannelPreferred = "preferred" // steps only: resolved at send time
)

// Consent states, per channel.
const (
	ConsentUnknown  = "unknown"   // transactional reminders may go
	ConsentOptedIn  = "opted_in"  // explicit yes
	ConsentOptedOut = "opted_out" // nothing but the opt-out confirmation
)

// Patient is identified by the EHR's id within a clinic.
type Patient struct {
	ClinicID         string
	ID               string
	FirstName        string
	LastName         string
	Phone            string // E.164 or empty
	Email            string // or empty
	Language         string // BCP 47 primary tag, e.g. "en", "es"
	TimeZone         string // IANA zone; empty means the clinic's
	PreferredChannel string // ChannelSMS, ChannelEmail or empty
	SMSConsent       string
	EmailConsent     string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Appointment statuses.
const (
	StatusBooked    = "booked"
	StatusArrived   = "arrived"
	StatusFulfilled = "fulfilled"
	StatusCancelled = "cancelled"
	StatusNoShow    = "noshow"
)

// Confirmation states.
const (
	Unconfirmed = "unconfirmed"
	Confirmed   = "confirmed"
)

// Appointment is identified by the EHR's id within a clinic. Version increases
// by one on every change; planned sends carry the version they were planned for.
type Appointment struct {
	ClinicID  string
	ID        string
	PatientID string
	Start     time.Time // UTC
	Duration  time.Duration
	Type      string
	// Provider and Location are ids, what campaigns match on (Match);
	// ProviderName and LocationName are what a patient is shown ("Dr. Ana
	// Rivera", "Main Street Clinic"), empty when the source sent none.
	Provider     string
	ProviderName string
	Location     string
	LocationName string
	// Notes are the scheduling notes the EHR sent (HL7 NTE): for staff, never
	// in the data a message template sees. Names and notes are bounded at
	// every entrance (ehr.MaxNameLength, ehr.MaxNotesLength).
	Notes        string
	Status       string
	Confirmation string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Campaign is a clinic's set of steps applied to matching appointments.
// Revision increases on every change.
type Campaign struct {
	ClinicID  string
	ID        string
	Name      string
	Active    bool
	Match     Match
	Steps     []Step
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Match restricts a campaign or step to appointments; an empty list matches all.
type Match struct {
	Types     []string `json:"types,omitempty"`
	Providers []string `json:"providers,omitempty"`
	Locations []string `json:"locations,omitempty"`
}

// Step timing kinds.
const (
	TimingOffset = "offset" // Offset relative to the appointment start
	TimingDay    = "day"    // local time AtMinute on day Day relative to the start's local date
)

// Timing says when a step is due relative to its appointment.
type Timing struct {
	Kind     string        `json:"kind"`
	Offset   time.Duration `json:"offset,omitempty"`
	Day      int           `json:"day,omitempty"`
	AtMinute int           `json:"at_minute,omitempty"`
}

// Step is one message of a campaign.
type Step struct {
	ID                string   `json:"id"`
	Timing            Timing   `json:"timing"`
	Channel           string   `json:"channel"`            // sms, email, preferred
	Template          string   `json:"template,omitempty"` // name of a built-in template
	Content           Contents `json:"content,omitempty"`  // inline content per language, instead of Template
	OnlyIfUnconfirmed bool     `json:"only_if_unconfirmed,omitempty"`
	Match             Match    `json:"match,omitempty"`
	// Fallback: when the provider refuses the message for good or reports it
	// undelivered, send it once on the other channel (a separate send).
	Fallback bool `json:"fallback,omitempty"`
}

// Contents maps a language tag to the content in that language.
type Contents map[string]Content

// Content is the source of a message: Go text/template (HTML: html/template).
type Content struct {
	Subject string `json:"subject,omitempty"` // email only
	Text    string `json:"text"`              // SMS body, or email plain-text body
	HTML    string `json:"html,omitempty"`    // email only
}

// Send statuses: the ledger of DESIGN.md promise 2.
const (
	SendPlanned    = "planned"    // waiting for its due time
	SendClaimed    = "claimed"    // a worker is delivering it
	SendSent       = "sent"       // the channel accepted it
	SendSkipped    = "skipped"    // not sent, see Reason
	SendSuperseded = "superseded" // replaced by a newer plan
	SendFailed     = "failed"     // permanent failure, see Reason
	SendUnknown    = "unknown"    // a crashed claim whose outcome the channel cannot tell
)

// Send is one planned message. Its ID is stable (clinic, appointment, version,
// campaign, revision, step) and doubles as the asynq TaskID.
type Send struct {
	ID                 string
	ClinicID           string
	AppointmentID      string
	AppointmentVersion int64
	PatientID          string
	CampaignID         string
	CampaignRevision   int64
	StepID             string
	Channel            string // as the step says: sms, email, preferred
	Template           string // the step's template name, empty for inline content
	DueAt              time.Time
	BeforeStart        bool // a reminder: never sent once the appointment has begun
	OnlyIfUnconfirmed  bool
	Status             string
	Reason             string
	Attempts           int
	ClaimToken         string
	ClaimedAt          time.Time // zero unless claimed
	EnqueuedAt         time.Time // zero until the pump hands it to asynq
	SentAt             time.Time
	MessageID          string // our message id once sent
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

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
	Channel       string
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
	ID        string
	ClinicID  string
	SendID    string // unique: the outbox keeps one entry per send
	Channel   string
	To        string
	Subject   string
	Body      string
	HTML      string
	CreatedAt time.Time
}

// AuditEntry records a change made through the API or by the system.
type AuditEntry struct {
	ID       string
	ClinicID string
	Actor    string // api key id, "system", "ehr:…"
	Action   string // e.g. appointment.update
	Entity   string // appointment, patient, campaign, send
	EntityID string
	Detail   string // JSON; no PHI beyond ids
	At       time.Time
}
