package beckon

import (
	"context"
	"time"
)

// BatchQuerier holds the set-at-a-time queries that keep a schedule sync (a
// thousand appointments in one request) to a handful of round trips.
type BatchQuerier interface {
	// AppointmentGetMany returns the clinic's appointments among ids, by id.
	AppointmentGetMany(ctx context.Context, clinicID string, ids []string) (map[string]Appointment, error)
	// PatientGetMany returns the clinic's patients among ids, by id.
	PatientGetMany(ctx context.Context, clinicID string, ids []string) (map[string]Patient, error)
	// AppointmentPutMany writes each appointment as AppointmentPut would with
	// expect[i]; ErrConflict (and nothing written, when run in a transaction)
	// if any of them lost its version race.
	AppointmentPutMany(ctx context.Context, as []Appointment, expect []int64) error
	// SendSupersedeMany supersedes the planned sends of the clinic's
	// appointments whose id is not in Keep.
	SendSupersedeMany(ctx context.Context, p SendSupersedeManyParams) (int, error)
	// AuditAppendMany appends the entries (empty ids are generated).
	AuditAppendMany(ctx context.Context, es []AuditEntry) error
	// MessageRecord inserts a message with its first events in two statements:
	// the message takes the status of the last event (m.Status if none);
	// ErrConflict if the id exists.
	MessageRecord(ctx context.Context, m Message, events []MessageEvent) error
}

// SendSupersedeManyParams selects the sends to supersede for many appointments.
type SendSupersedeManyParams struct {
	ClinicID       string
	AppointmentIDs []string
	Keep           []string
	Reason         string
	Now            time.Time
}
