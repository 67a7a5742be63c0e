package store

import (
	"context"

	"github.com/beckonhealth/beckon"
)

const auditCols = `id, clinic_id, actor, action, entity, entity_id, patient_id, detail, at`

// auditColCount is the number of columns in auditCols.
const auditColCount = 9

func scanAudit(r scanner) (beckon.AuditEntry, error) {
	var e beckon.AuditEntry
	err := r.Scan(&e.ID, &e.ClinicID, &e.Actor, &e.Action, &e.Entity, &e.EntityID,
		&e.PatientID, &e.Detail, ms{&e.At})
	return e, err
}

// auditArgs are an entry's values in auditCols order: an empty id gets one,
// an empty At is now, and an entry about a patient names it as PatientID.
func (q *queries) auditArgs(e beckon.AuditEntry) []any {
	if e.ID == "" {
		e.ID = beckon.NewID("aud_")
	}
	if e.PatientID == "" && e.Entity == "patient" {
		e.PatientID = e.EntityID
	}
	return []any{e.ID, e.ClinicID, e.Actor, e.Action, e.Entity, e.EntityID, e.PatientID, e.Detail, q.stamp(e.At).UnixMilli()}
}

func (q *queries) AuditAppend(ctx context.Context, e beckon.AuditEntry) error {
	ok, err := q.execOne(ctx, "audit.append", `INSERT INTO audit (`+auditCols+`) VALUES `+
		valueRows(1, auditColCount)+` ON CONFLICT DO NOTHING`, q.auditArgs(e)...)
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

// AuditList: an empty entity or entityID matches all.
func (q *queries) AuditList(ctx context.Context, clinicID, entity, entityID string) ([]beckon.AuditEntry, error) {
	var w where
	w.add("clinic_id = ?", clinicID)
	if entity != "" {
		w.add("entity = ?", entity)
	}
	if entityID != "" {
		w.add("entity_id = ?", entityID)
	}
	return list(ctx, q, "audit.list", scanAudit,
		`SELECT `+auditCols+` FROM audit`+w.String()+` ORDER BY at, id`, w.args...)
}

// AuditQuery returns newest first, by (at, id).
func (q *queries) AuditQuery(ctx context.Context, f beckon.AuditFilter) ([]beckon.AuditEntry, error) {
	var w where
	w.add("clinic_id = ?", f.ClinicID)
	for _, c := range []struct{ col, v string }{
		{"actor", f.Actor},
		{"action", f.Action},
		{"patient_id", f.PatientID},
	} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	if !f.Since.IsZero() {
		w.add("at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		w.add("at < ?", f.Until.UnixMilli())
	}
	if f.Before != "" {
		if err := q.addBefore(ctx, &w, "audit.query_cursor", "audit", "at", f.ClinicID, f.Before); err != nil {
			return nil, err
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	return list(ctx, q, "audit.query", scanAudit,
		`SELECT `+auditCols+` FROM audit`+w.String()+
			` ORDER BY at DESC, id DESC`+limitClause(limit), w.args...)
}
