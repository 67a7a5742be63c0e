package store

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
)

const eventCols = `id, clinic_id, type, data, at`

func scanEvent(r scanner) (beckon.Event, error) {
	var (
		e    beckon.Event
		data string
	)
	err := r.Scan(&e.ID, &e.ClinicID, &e.Type, &data, ms{&e.At})
	e.Data = []byte(data)
	return e, err
}

// EventAppend inserts each event (skipping an id that exists) and, for each
// one inserted, a pending delivery per enabled endpoint of its clinic
// subscribed to its type; in the caller's transaction, or its own.
func (q *queries) EventAppend(ctx context.Context, events ...beckon.Event) error {
	if len(events) == 0 {
		return nil
	}
	return q.atomic(ctx, func(q *queries) error {
		endpoints := map[string][]beckon.WebhookEndpoint{} // enabled ones, by clinic
		for _, e := range events {
			if e.ID == "" {
				e.ID = beckon.NewID("evt_")
			}
			data := string(e.Data)
			if data == "" {
				data = "{}"
			}
			at := q.stamp(e.At)
			added, err := q.execOne(ctx, "event.append", `
				INSERT INTO events (`+eventCols+`) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT DO NOTHING`, e.ID, e.ClinicID, e.Type, data, at.UnixMilli())
			if err != nil {
				return err
			}
			if !added {
				continue
			}
			eps, ok := endpoints[e.ClinicID]
			if !ok {
				all, err := q.WebhookEndpointList(ctx, e.ClinicID)
				if err != nil {
					return err
				}
				for _, ep := range all {
					if ep.Enabled {
						eps = append(eps, ep)
					}
				}
				endpoints[e.ClinicID] = eps
			}
			for _, ep := range eps {
				if !ep.Subscribed(e.Type) {
					continue
				}
				if err := q.WebhookDeliveryInsert(ctx, beckon.WebhookDelivery{
					ID: beckon.WebhookDeliveryID(e.ID, ep.ID), ClinicID: e.ClinicID, EventID: e.ID,
					EndpointID: ep.ID, EventType: e.Type, NextAttemptAt: at, CreatedAt: at,
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (q *queries) EventGet(ctx context.Context, clinicID, id string) (beckon.Event, error) {
	return get(ctx, q, "event.get", scanEvent,
		`SELECT `+eventCols+` FROM events WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

const deliveryCols = `id, clinic_id, event_id, endpoint_id, event_type, status, attempts,
	next_attempt_at, last_status_code, last_error, enqueued_at, claimed_at, created_at, updated_at`

func scanDelivery(r scanner) (beckon.WebhookDelivery, error) {
	var d beckon.WebhookDelivery
	err := r.Scan(&d.ID, &d.ClinicID, &d.EventID, &d.EndpointID, &d.EventType, &d.Status, &d.Attempts,
		ms{&d.NextAttemptAt}, &d.LastStatusCode, &d.LastError, ms{&d.EnqueuedAt}, ms{&d.ClaimedAt},
		ms{&d.CreatedAt}, ms{&d.UpdatedAt})
	return d, err
}

// WebhookDeliveryInsert inserts a pending delivery; an id that exists is
// left as it is.
func (q *queries) WebhookDeliveryInsert(ctx context.Context, d beckon.WebhookDelivery) error {
	created := q.stamp(d.CreatedAt)
	_, err := q.exec(ctx, "webhook_delivery.insert", `
		INSERT INTO webhook_deliveries (`+deliveryCols+`)
		VALUES ($1, $2, $3, $4, $5, '`+beckon.DeliveryPending+`', 0, $6, 0, '', NULL, NULL, $7, $7)
		ON CONFLICT DO NOTHING`,
		d.ID, d.ClinicID, d.EventID, d.EndpointID, d.EventType, orTime(d.NextAttemptAt, created).UnixMilli(),
		created.UnixMilli())
	return err
}

func (q *queries) WebhookDeliveryGet(ctx context.Context, clinicID, id string) (beckon.WebhookDelivery, error) {
	d, err := get(ctx, q, "webhook_delivery.get", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE clinic_id = $1 AND id = $2`, clinicID, id)
	if err != nil {
		return d, err
	}
	ds := []beckon.WebhookDelivery{d}
	err = q.attachAttempts(ctx, ds)
	return ds[0], err
}

func (q *queries) WebhookDeliveryList(ctx context.Context, p beckon.WebhookDeliveryListParams) ([]beckon.WebhookDelivery, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	ds, err := list(ctx, q, "webhook_delivery.list", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE clinic_id = $1 AND endpoint_id = $2
		ORDER BY created_at DESC, id DESC LIMIT $3`, p.ClinicID, p.EndpointID, p.Limit)
	if err != nil {
		return nil, err
	}
	return ds, q.attachAttempts(ctx, ds)
}

// attachAttempts fills the deliveries' AttemptLog in one query per chunk.
func (q *queries) attachAttempts(ctx context.Context, ds []beckon.WebhookDelivery) error {
	byID := make(map[string]int, len(ds))
	ids := make([]any, 0, len(ds))
	for i, d := range ds {
		byID[d.ID] = i
		ids = append(ids, d.ID)
	}
	for start := 0; start < len(ids); start += idChunk {
		chunk := ids[start:min(start+idChunk, len(ids))]
		rows, err := q.db.QueryContext(ctx, `
			SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts
			WHERE delivery_id IN (`+placeholders(1, len(chunk))+`) ORDER BY delivery_id, n`, chunk...)
		if err != nil {
			return translate("webhook_delivery.attempts", err)
		}
		type row struct {
			id string
			a  beckon.WebhookAttempt
		}
		got, err := scanAll(rows, func(r scanner) (row, error) {
			var (
				x      row
				millis int64
			)
			err := r.Scan(&x.id, ms{&x.a.At}, &x.a.StatusCode, &x.a.Error, &millis)
			x.a.Duration = time.Duration(millis) * time.Millisecond
			return x, err
		})
		if err != nil {
			return translate("webhook_delivery.attempts", err)
		}
		for _, x := range got {
			i := byID[x.id]
			ds[i].AttemptLog = append(ds[i].AttemptLog, x.a)
		}
	}
	return nil
}

func (q *queries) WebhookDeliveryListDue(ctx context.Context, p beckon.WebhookDeliveryDueParams) ([]beckon.WebhookDelivery, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	return list(ctx, q, "webhook_delivery.list_due", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE status = '`+beckon.DeliveryPending+`' AND next_attempt_at <= $1
			AND (enqueued_at IS NULL OR enqueued_at <= $2)
		ORDER BY next_attempt_at, id LIMIT $3`, p.DueBefore.UnixMilli(), p.EnqueuedBefore.UnixMilli(), p.Limit)
}

func (q *queries) WebhookDeliveryMarkEnqueued(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return q.atomic(ctx, func(q *queries) error {
		for start := 0; start < len(ids); start += idChunk {
			chunk := ids[start:min(start+idChunk, len(ids))]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, at.UnixMilli())
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := q.exec(ctx, "webhook_delivery.mark_enqueued", `
				UPDATE webhook_deliveries SET enqueued_at = $1
				WHERE status = '`+beckon.DeliveryPending+`' AND id IN (`+placeholders(2, len(chunk))+`)`,
				args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookDeliveryClaim is one conditional UPDATE … RETURNING: of concurrent
// callers, at most one takes the delivery.
func (q *queries) WebhookDeliveryClaim(ctx context.Context, p beckon.WebhookDeliveryClaimParams) (beckon.WebhookDelivery, bool, error) {
	d, err := get(ctx, q, "webhook_delivery.claim", scanDelivery, `
		UPDATE webhook_deliveries SET claimed_at = $3
		WHERE clinic_id = $1 AND id = $2 AND status = '`+beckon.DeliveryPending+`'
			AND (claimed_at IS NULL OR claimed_at <= $4)
		RETURNING `+deliveryCols, p.ClinicID, p.ID, q.stamp(p.Now).UnixMilli(), p.StaleBefore.UnixMilli())
	if err == beckon.ErrNotFound {
		d, err = q.WebhookDeliveryGet(ctx, p.ClinicID, p.ID)
		return d, false, err
	}
	return d, err == nil, err
}

// WebhookDeliveryFinish records the attempt and the delivery's new state in
// one transaction.
func (q *queries) WebhookDeliveryFinish(ctx context.Context, p beckon.WebhookDeliveryFinishParams) error {
	return q.atomic(ctx, func(q *queries) error {
		at := q.stamp(p.Attempt.At).UnixMilli()
		ok, err := q.execOne(ctx, "webhook_delivery.finish", `
			UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4,
				last_status_code = $5, last_error = $6, claimed_at = NULL, updated_at = $7
			WHERE clinic_id = $1 AND id = $2 AND status = '`+beckon.DeliveryPending+`'`,
			p.ClinicID, p.ID, p.Status, orTime(p.NextAttemptAt, time.UnixMilli(at)).UnixMilli(),
			p.Attempt.StatusCode, p.Attempt.Error, at)
		if err != nil {
			return err
		}
		if !ok {
			return beckon.ErrConflict // not the clinic's, or no longer pending
		}
		_, err = q.exec(ctx, "webhook_delivery.attempt", `
			INSERT INTO webhook_attempts (delivery_id, n, at, status_code, error, duration_ms)
			VALUES ($1, (SELECT attempts FROM webhook_deliveries WHERE id = $1), $2, $3, $4, $5)`,
			p.ID, at, p.Attempt.StatusCode, p.Attempt.Error, p.Attempt.Duration.Milliseconds())
		return err
	})
}
