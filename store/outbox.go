package store

import (
	"context"

	"github.com/beckonhealth/beckon"
)

const outboxCols = `id, clinic_id, send_id, channel, to_addr, subject, body, html, created_at`

func scanOutbox(r scanner) (beckon.OutboxEntry, error) {
	var e beckon.OutboxEntry
	err := r.Scan(&e.ID, &e.ClinicID, text{&e.SendID}, &e.Channel, &e.To, &e.Subject,
		&e.Body, &e.HTML, ms{&e.CreatedAt})
	return e, err
}

// OutboxPut: an empty ID gets one; entries without a SendID are always created.
func (q *queries) OutboxPut(ctx context.Context, e beckon.OutboxEntry) (bool, error) {
	if e.ID == "" {
		e.ID = beckon.NewID("obx_")
	}
	return q.execOne(ctx, "outbox.put", `
		INSERT INTO outbox (`+outboxCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (send_id) DO NOTHING`,
		e.ID, e.ClinicID, nullText(e.SendID), e.Channel, e.To, e.Subject, e.Body, e.HTML,
		q.stamp(e.CreatedAt).UnixMilli())
}

func (q *queries) OutboxGetBySend(ctx context.Context, clinicID, sendID string) (beckon.OutboxEntry, error) {
	if sendID == "" {
		return beckon.OutboxEntry{}, beckon.ErrNotFound
	}
	return get(ctx, q, "outbox.get", scanOutbox,
		`SELECT `+outboxCols+` FROM outbox WHERE clinic_id = $1 AND send_id = $2`, clinicID, sendID)
}

func (q *queries) OutboxList(ctx context.Context, f beckon.OutboxFilter) ([]beckon.OutboxEntry, error) {
	var w where
	w.add("clinic_id = ?", f.ClinicID)
	if f.To != "" {
		w.add("to_addr = ?", f.To)
	}
	if f.SendID != "" {
		w.add("send_id = ?", f.SendID)
	}
	if !f.Since.IsZero() {
		w.add("created_at >= ?", f.Since.UnixMilli())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	return list(ctx, q, "outbox.list", scanOutbox,
		`SELECT `+outboxCols+` FROM outbox`+w.String()+
			` ORDER BY created_at, id`+limitClause(limit), w.args...)
}
