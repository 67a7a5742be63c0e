package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/beckonhealth/beckon"
)

const outboxCols = `id, clinic_id, send_id, channel, to_addr, subject, body, html, created_at, headers`

func scanOutbox(r scanner) (beckon.OutboxEntry, error) {
	var e beckon.OutboxEntry
	var headers string
	err := r.Scan(&e.ID, &e.ClinicID, text{&e.SendID}, &e.Channel, &e.To, &e.Subject,
		&e.Body, &e.HTML, ms{&e.CreatedAt}, &headers)
	if err == nil && headers != "" {
		if jerr := json.Unmarshal([]byte(headers), &e.Headers); jerr != nil {
			return e, fmt.Errorf("outbox %s: headers: %w", e.ID, beckon.ErrInvalidData)
		}
	}
	return e, err
}

// outboxHeaders is the headers column: a JSON object, ” when none.
func outboxHeaders(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "", nil
	}
	b, err := json.Marshal(h)
	return string(b), err
}

// OutboxPut: an empty ID gets one; entries without a SendID are always created.
func (q *queries) OutboxPut(ctx context.Context, e beckon.OutboxEntry) (bool, error) {
	if e.ID == "" {
		e.ID = beckon.NewID("obx_")
	}
	headers, err := outboxHeaders(e.Headers)
	if err != nil {
		return false, fmt.Errorf("store: outbox.put: headers: %w", beckon.ErrInvalidData)
	}
	return q.execOne(ctx, "outbox.put", `
		INSERT INTO outbox (`+outboxCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (send_id) DO NOTHING`,
		e.ID, e.ClinicID, nullText(e.SendID), e.Channel, e.To, e.Subject, e.Body, e.HTML,
		q.stamp(e.CreatedAt).UnixMilli(), headers)
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
