package beckon

import (
	"context"
	"time"
)

// FeedQuerier holds the queries of EHR feeds (inbound archive, event
// ordering, confirmations, write-back).
type FeedQuerier interface {
	// InboundInsert archives one inbound message, raw, with its outcome.
	InboundInsert(ctx context.Context, m InboundMessage) error
	// InboundGet reads one archived message of the clinic; an empty
	// clinicID reads any clinic's (operator tools, such as ehr replay).
	InboundGet(ctx context.Context, clinicID, id string) (InboundMessage, error)
	// InboundList lists archived messages oldest first (received_at, id).
	InboundList(ctx context.Context, f InboundFilter) ([]InboundMessage, error)

	// FeedStateGet returns what the feeds last applied to an appointment;
	// ErrNotFound if nothing.
	FeedStateGet(ctx context.Context, clinicID, appointmentID string) (FeedState, error)
	// FeedStatePut inserts or replaces the state.
	FeedStatePut(ctx context.Context, s FeedState) error

	// FeedSettingsGet returns the clinic's feed settings with its sending
	// facilities; ErrNotFound when never set.
	FeedSettingsGet(ctx context.Context, clinicID string) (FeedSettings, error)
	// FeedSettingsPut replaces the clinic's settings and facilities;
	// ErrConflict when a facility belongs to another clinic.
	FeedSettingsPut(ctx context.Context, s FeedSettings) error
	// FeedClinicByFacility returns the clinic an HL7 sending facility
	// (MSH-4) belongs to; ErrNotFound if none.
	FeedClinicByFacility(ctx context.Context, facility string) (string, error)

	ConfirmationInsert(ctx context.Context, c Confirmation) error
	// ConfirmationList lists an appointment's confirmations, oldest first.
	ConfirmationList(ctx context.Context, clinicID, appointmentID string) ([]Confirmation, error)

	WritebackInsert(ctx context.Context, w Writeback) error
	// WritebackGet returns the clinic's write-back; ErrNotFound if the clinic
	// has none with that id.
	WritebackGet(ctx context.Context, clinicID, id string) (Writeback, error)
	// WritebackUpdate sets status, attempts, last error and updated_at of the
	// write-back w.ID of w.ClinicID; ErrNotFound if the clinic has none.
	WritebackUpdate(ctx context.Context, w Writeback) error
	// WritebackList lists an appointment's write-backs, oldest first.
	WritebackList(ctx context.Context, clinicID, appointmentID string) ([]Writeback, error)
	// WritebackListPending lists pending write-backs of every clinic last
	// updated before updatedBefore, oldest first, at most limit (default
	// 100): those to hand to asynq again.
	WritebackListPending(ctx context.Context, updatedBefore time.Time, limit int) ([]Writeback, error)
}

// Inbound message formats and transports.
const (
	FormatHL7v2 = "hl7v2"
	FormatFHIR  = "fhir"

	TransportMLLP   = "mllp"
	TransportHTTP   = "http"
	TransportReplay = "replay"
)

// Results of applying an inbound message.
const (
	FeedApplied   = "applied"   // changed Beckon
	FeedUnchanged = "unchanged" // valid, but nothing new
	FeedDuplicate = "duplicate" // the same message was applied before
	FeedStale     = "stale"     // older than what was applied; ignored
	FeedTombstone = "tombstone" // a cancellation of an unknown appointment, remembered
	FeedRejected  = "rejected"  // invalid or not taken (AE, AR, 4xx)
	FeedError     = "error"     // Beckon failed (AE 207, 5xx); replayable
)

// InboundMessage is one message an EHR sent, kept raw for inspection and replay.
type InboundMessage struct {
	ID        string
	ClinicID  string // empty when no clinic could be told
	Transport string // mllp, http, replay
	Format    string // hl7v2, fhir
	ControlID string // MSH-10, or the FHIR resource id
	Digest    string // hex sha256 of Raw
	// Raw is the message's bytes as sent, whatever their character set and
	// even when they are not text (a refused message). PHI: never logged.
	Raw           []byte
	Outcome       string // AA, AE, AR; or the HTTP status for FHIR
	Result        string // FeedApplied, …
	Detail        string // the error's location and reason, no PHI
	AppointmentID string
	ReceivedAt    time.Time
}

// InboundFilter selects archived messages.
type InboundFilter struct {
	ClinicID string // empty: every clinic
	Since    time.Time
	AfterID  string // cursor: messages after this one (same ReceivedAt, greater id) or later
	Limit    int    // default 100
}

// FeedState is what the feeds last applied to one appointment: the ordering
// key of the source, the digest of the last message, and a tombstone for a
// cancellation that arrived before the booking.
type FeedState struct {
	ClinicID      string
	AppointmentID string
	SourceAt      time.Time // HL7 MSH-7, FHIR meta.lastUpdated; zero if not sent
	SourceVersion int64     // FHIR meta.versionId when numeric; 0 if none
	Digest        string
	Tombstone     bool
	EHRVersion    string // the FHIR versionId the EHR last showed us (If-Match)
	UpdatedAt     time.Time
}

// FeedSettings is a clinic's EHR integration.
type FeedSettings struct {
	ClinicID string
	// Facilities are the HL7 sending facilities (MSH-4) whose MLLP messages
	// belong to this clinic.
	Facilities     []string
	FHIRBaseURL    string // where write-backs go (and id-only notifications are fetched)
	FHIRAuthHeader string // the Authorization header value for the FHIR base; secret
	WebhookURL     string // HL7-only EHRs: signed events go here
	WebhookSecret  string // Standard Webhooks secret ("whsec_" + base64)
	Writeback      bool   // update the EHR when a confirmation changes
	UpdatedAt      time.Time
}

// Confirmation responses.
const (
	ResponseConfirmed           = "confirmed"
	ResponseCancelRequested     = "cancel_requested"
	ResponseRescheduleRequested = "reschedule_requested"
)

// Confirmation is a patient's answer about an appointment, with who gave it
// and how.
type Confirmation struct {
	ID                 string
	ClinicID           string
	AppointmentID      string
	AppointmentVersion int64 // the version it changed the appointment to
	Response           string
	By                 string // who: "patient", "staff:<name or id>", …
	Method             string // phone, in_person, sms, email, portal, other
	Note               string
	Actor              string // the API key or system that recorded it
	At                 time.Time
}

// Write-back kinds and statuses.
const (
	WritebackFHIR    = "fhir"
	WritebackWebhook = "webhook"

	WritebackPending = "pending"
	WritebackDone    = "done"
	WritebackSkipped = "skipped" // the EHR had a newer human change
	WritebackFailed  = "failed"  // gave up; see LastError
)

// Writeback is one update of the EHR after a confirmation.
type Writeback struct {
	ID             string
	ClinicID       string
	AppointmentID  string
	ConfirmationID string
	Kind           string
	Status         string
	Attempts       int
	LastError      string // no PHI: statuses and codes
	CreatedAt      time.Time
	UpdatedAt      time.Time
}
