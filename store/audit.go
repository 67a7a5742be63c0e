package store

import (
	"context"

	"github.com/beckonhealth/beckon"
)

const auditCols = `id, clinic_id, actor, action, entity, entity_id, detail, at`

func scanAudit(r scanner) (beckon.AuditEntry, error) {
	var e beckon.AuditEntry
	err := r.Scan(&e.ID, &e.ClinicID, &e.Actor, &e.Action, &e.Entity, &e.EntityID,
		&e.Detail, ms{&e.At})
	return e, err
}

// AuditAppend: an empty ID gets one, an empty At is now.
// auditArgs are an entry's values in auditCols order (an empty id gets one).
func (q *queries) auditArgs(e beckon.AuditEntry) []any {
	if e.ID == "" {
		e.ID = beckon.NewID("aud_")
	}
	return []any{e.ID, e.ClinicID, e.Actor, e.Action, e.Entity, e.EntityID, e.Detail, q.stamp(e.At).UnixMilli()}
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
