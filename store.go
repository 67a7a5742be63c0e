package beckon

import (
	"context"
	"time"
)

// Querier is every read and write; Store and the transaction handle implement it.
// All times are written and returned in UTC, to the millisecond.
type Querier interface {
	DeliveryQuerier     // provider delivery: channel settings, statuses, fallbacks
	FeedQuerier         // EHR feeds: inbound archive, ordering, confirmations, write-back
	BatchQuerier        // set-at-a-time reads and writes for schedule syncs
	DispatchQuerier     // set-at-a-time claims and records of concurrent deliveries
	CallQuerier         // provider calls as they start, and providers' word on them
	ConsentStore        // the consent ledger and the consent derived from it
	TwoWayQuerier       // patients' replies and the sends that are not campaign steps
	EventStore          // events out: webhook endpoints, events and their deliveries
	ConversationQuerier // what a conversation with a number left open
	LinkStore           // email links: the installation's key, links used
	AuditQuerier        // the audit trail, filtered and paged
	RetentionQuerier    // purging bodies and raw archives past their period

	ClinicCreate(ctx context.Context, c Clinic) error
	ClinicGet(ctx context.Context, id string) (Clinic, error)
	ClinicList(ctx context.Context) ([]Clinic, error)
	ClinicUpdate(ctx context.Context, c Clinic) error

	APIKeyCreate(ctx context.Context, k APIKey) error
	APIKeyGetByHash(ctx context.Context, hash string) (APIKey, error)

	// PatientUpsert inserts or replaces the patient (CreatedAt kept on update).
	PatientUpsert(ctx context.Context, p Patient) error
	PatientGet(ctx context.Context, clinicID, id string) (Patient, error)

	AppointmentGet(ctx context.Context, clinicID, id string) (Appointment, error)
	// AppointmentPut writes a.Version if the stored version is expectVersion
	// (0: the appointment must not exist yet); otherwise ErrConflict.
	AppointmentPut(ctx context.Context, a Appointment, expectVersion int64) error
	// AppointmentListUpcoming lists the clinic's appointments starting after from
	// (optionally one patient's), ordered by start.
	AppointmentListUpcoming(ctx context.Context, p AppointmentListParams) ([]Appointment, error)

	// CampaignPut writes c.Revision if the stored revision is expectRevision
	// (0: must not exist); otherwise ErrConflict.
	CampaignPut(ctx context.Context, c Campaign, expectRevision int64) error
	CampaignGet(ctx context.Context, clinicID, id string) (Campaign, error)
	CampaignList(ctx context.Context, clinicID string) ([]Campaign, error) // ordered by id
	CampaignDelete(ctx context.Context, clinicID, id string) error

	// SendInsert inserts the sends; an id that exists already is left as it is.
	SendInsert(ctx context.Context, sends []Send) error
	// SendGet returns the clinic's send; ErrNotFound if the clinic has none
	// with that id (another clinic's send included).
	SendGet(ctx context.Context, clinicID, id string) (Send, error)
	SendListByAppointment(ctx context.Context, clinicID, appointmentID string) ([]Send, error) // by due, id
	// SendListDue lists planned sends with DueAt <= DueBefore that were never
	// enqueued or were last enqueued at or before EnqueuedBefore, by due time.
	SendListDue(ctx context.Context, p SendListDueParams) ([]Send, error)
	// SendListStaleClaims lists claimed sends with ClaimedAt <= ClaimedBefore.
	SendListStaleClaims(ctx context.Context, claimedBefore time.Time, limit int) ([]Send, error)
	SendMarkEnqueued(ctx context.Context, ids []string, at time.Time) error
	// SendListHeldBefore lists, among ids (of any clinic: for the pump),
	// the sends planned and due at or before before, or claimed with
	// ClaimedAt at or before before.
	SendListHeldBefore(ctx context.Context, ids []string, before time.Time) ([]Send, error)
	// SendClaim takes a planned send of the clinic, or a claimed one whose
	// ClaimedAt <= StaleBefore, setting status claimed, the token, ClaimedAt = Now
	// and Attempts+1; taking over a stale claim hands the call started under it
	// (SendCall) to Token in the same transaction. It returns the send as it
	// is after the attempt and whether this call claimed it; ErrNotFound if
	// the clinic has no such send.
	SendClaim(ctx context.Context, p SendClaimParams) (s Send, claimed bool, err error)
	// SendFinish moves a send claimed with Token to Status (sent, skipped, failed,
	// superseded, unknown) with Reason, SentAt/MessageID for sent; ErrConflict if
	// the claim is no longer Token's.
	SendFinish(ctx context.Context, p SendFinishParams) error
	// SendRelease returns a send claimed with Token to planned (clearing EnqueuedAt),
	// with a new DueAt if set; ErrConflict if the claim is no longer Token's.
	SendRelease(ctx context.Context, p SendReleaseParams) error

	MessageInsert(ctx context.Context, m Message) error
	MessageGet(ctx context.Context, clinicID, id string) (Message, error) // with Events
	MessageList(ctx context.Context, f MessageFilter) ([]Message, error)  // newest first, no Events
	// MessageEventAppend records a status change and sets the message's status.
	MessageEventAppend(ctx context.Context, clinicID string, e MessageEvent) error

	// OutboxPut stores an entry once per SendID: it reports false (and stores
	// nothing) when the send already has one.
	OutboxPut(ctx context.Context, e OutboxEntry) (created bool, err error)
	// OutboxGetBySend returns the clinic's entry of a send; ErrNotFound if the
	// clinic has none.
	OutboxGetBySend(ctx context.Context, clinicID, sendID string) (OutboxEntry, error)
	OutboxList(ctx context.Context, f OutboxFilter) ([]OutboxEntry, error) // oldest first

	AuditAppend(ctx context.Context, e AuditEntry) error
	AuditList(ctx context.Context, clinicID, entity, entityID string) ([]AuditEntry, error) // oldest first
	FeedBatchQuerier
}

// Store is a database: the Querier plus transactions and lifecycle.
type Store interface {
	Querier
	// InTx runs fn in one transaction, committed if fn returns nil.
	InTx(ctx context.Context, fn func(q Querier) error) error
	Ping(ctx context.Context) error
	Close() error
	Dialect() string // DialectSQLite or DialectPostgres
}

// Dialect names.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// AppointmentListParams selects upcoming appointments.
type AppointmentListParams struct {
	ClinicID  string
	PatientID string // optional
	After     time.Time
	Limit     int // 0: no limit
}

// SendListDueParams selects sends for the pump.
type SendListDueParams struct {
	DueBefore      time.Time
	EnqueuedBefore time.Time
	Limit          int
}

// SendClaimParams claims a send for delivery.
type SendClaimParams struct {
	ClinicID    string // the send's clinic: another clinic's send is ErrNotFound
	ID          string
	Token       string
	Now         time.Time
	StaleBefore time.Time // a claim taken at or before this is considered abandoned
}

// SendFinishParams ends a claimed send.
type SendFinishParams struct {
	ID        string
	Token     string
	Status    SendStatus // a final one
	Reason    string
	MessageID string // for SendSent
	Now       time.Time
}

// SendReleaseParams hands a claimed send back to the planner's queue.
type SendReleaseParams struct {
	ID     string
	Token  string
	Reason string
	DueAt  time.Time // zero: keep
	Now    time.Time
}

// MessageFilter selects messages of one clinic; empty fields match all.
type MessageFilter struct {
	ClinicID      string
	PatientID     string
	AppointmentID string
	SendID        string
	Direction     string
	Channel       Channel
	Status        string
	Since         time.Time // CreatedAt >= Since
	Until         time.Time // CreatedAt < Until
	Before        string    // cursor: messages older than this id's (CreatedAt, ID)
	Limit         int       // default 100
}

// OutboxFilter selects outbox entries of one clinic.
type OutboxFilter struct {
	ClinicID string
	To       string
	SendID   string
	Since    time.Time
	Limit    int // default 100
}
