package beckon

import "time"

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
