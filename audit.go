package beckon

import (
	"context"
	"time"
)

// AuditEntry records a change made through the API or by the system, or a
// read of patient data through the API.
type AuditEntry struct {
	ID       string
	ClinicID string
	Actor    string // "key:" and the api key id, "system", "ehr:…"
	Action   string // e.g. appointment.update, patient.read
	Entity   string // appointment, patient, campaign, send, message
	EntityID string
	// PatientID is the patient whose data the entry is about, if any; the
	// store fills it with EntityID for an entry whose Entity is "patient".
	PatientID string
	Detail    string // JSON; no PHI beyond ids
	At        time.Time
}

// AuditFilter selects a clinic's audit entries, newest first; empty fields
// match all.
type AuditFilter struct {
	ClinicID  string
	Actor     string // e.g. "key:" and a key id
	Action    string
	PatientID string
	Since     time.Time // At >= Since
	Until     time.Time // At < Until
	Before    string    // cursor: entries older than this entry's (At, ID)
	Limit     int       // default 100
}

// AuditQuerier reads the audit trail.
type AuditQuerier interface {
	// AuditQuery returns the clinic's entries newest first. Before names an
	// entry of the clinic; ErrNotFound if there is none.
	AuditQuery(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
