package beckon

import (
	"context"
	"time"
)

// FeedBatchQuerier holds the set-at-a-time reads of a batch of changes and
// Write, the one writer of every decided change (scheduler.Decide): an
// appointment change, from whichever entrance, is a few statements however
// many appointments it touches.
type FeedBatchQuerier interface {
	// FeedStateGetMany returns the feed state of the clinic's appointments
	// among ids, by appointment id (absent: nothing applied yet).
	FeedStateGetMany(ctx context.Context, clinicID string, appointmentIDs []string) (map[string]FeedState, error)
	// Write writes what a batch of changes decided, all or nothing (in the
	// caller's transaction, or its own): on PostgreSQL in one statement
	// when it fits, else (and on SQLite) in one per kind of row and chunk.
	// ErrConflict (and nothing written) when an appointment lost its
	// version race or the clinic is no longer at PlanRevision.
	Write(ctx context.Context, w Writes) error
	// FeedReadMany reads in one statement the clinic's feed state and
	// appointments among appointmentIDs and patients among patientIDs; at
	// most 500 ids in all.
	FeedReadMany(ctx context.Context, clinicID string, appointmentIDs, patientIDs []string) (FeedRead, error)
}

// Writes is what a batch of changes writes (scheduler.Decision.Writes).
type Writes struct {
	ClinicID string // the clinic of Supersede's appointments
	// Patients are inserted or replaced as PatientUpsert does; each at most once.
	Patients []Patient
	// Appointments are written as AppointmentPutMany does, each expecting
	// the stored version to be Version-1 (none for Version 1); each at most once.
	Appointments []Appointment
	// Sends are inserted as SendInsert does (an id that exists is left as it is).
	Sends []Send
	// Supersede marks the planned sends of these appointments whose id is
	// not among Sends superseded, as SendSupersedeMany does, at Now.
	Supersede []SupersedeSet
	Now       time.Time
	Audits    []AuditEntry // empty ids are generated
	// FeedStates are inserted or replaced as FeedStatePut does; each
	// appointment at most once.
	FeedStates []FeedState
	Inbound    []InboundMessage // archived as InboundInsert does
	// Confirmations are inserted as ConfirmationInsert does, Writebacks as
	// WritebackInsert does.
	Confirmations []Confirmation
	Writebacks    []Writeback
	// PlanRevision, when not 0, is the Clinic.PlanRevision of the clinic
	// and campaigns the writes were planned with (a copy kept between
	// transactions): Write checks it is still ClinicID's stored one, in the
	// same statement on PostgreSQL, and returns ErrConflict if not (having
	// written: run it in a transaction).
	PlanRevision int64
}

// SupersedeSet is appointments whose older sends no longer hold, and why.
type SupersedeSet struct {
	AppointmentIDs []string
	Reason         string
}

// Empty reports whether w writes nothing and checks nothing.
func (w Writes) Empty() bool {
	return len(w.Patients)+len(w.Appointments)+len(w.Sends)+len(w.Supersede)+len(w.Audits)+
		len(w.FeedStates)+len(w.Inbound)+len(w.Confirmations)+len(w.Writebacks) == 0 && w.PlanRevision == 0
}

// FeedRead is what FeedReadMany read, by id.
type FeedRead struct {
	States       map[string]FeedState // by appointment id
	Appointments map[string]Appointment
	Patients     map[string]Patient
}
