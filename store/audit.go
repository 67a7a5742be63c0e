package store

import "context"

const auditCols = `id, clinic_id, actor, action, entity, entity_id, detail, at`

func scanAudit(r scanner) (AuditEntry, error) {
	var e AuditEntry
	err := r.Scan(&e.ID, &e.ClinicID, &e.Actor, &e.Action, &e.Entity, &e.EntityID,
		&e.Detail, ms{&e.At})
	return e, err
}

// AuditAppend: an empty ID gets one, an empty At is now.
func (q *queries) AuditAppend(ctx context.Context, e AuditEntry) error {
	if e.ID == "" {
		e.ID = NewID("aud_")
	}
	ok, err := q.execOne(ctx, "audit.append", `
		INSERT INTO audit (`+auditCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT DO NOTHING`,
		e.ID, e.ClinicID, e.Actor, e.Action, e.Entity, e.EntityID, e.Detail,
		stamp(e.At).UnixMilli())
	if err == nil && !ok {
		return ErrConflict
	}
	return err
}

// AuditList: an empty entity or entityID matches all.
func (q *queries) AuditList(ctx context.Context, clinicID, entity, entityID string) ([]AuditEntry, error) {
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
