package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
)

const statusInboxCols = `id, clinic_id, provider, event_key, payload, received_at, queued_at, done_at`

const statusInboxColCount = 8

// statusInboxChunk bounds the rows of one INSERT (8 parameters each).
const statusInboxChunk = 500

func scanStatusInbox(r scanner) (beckon.StatusInboxEntry, error) {
	var e beckon.StatusInboxEntry
	err := r.Scan(&e.ID, &e.ClinicID, &e.Provider, &e.Key, &e.Payload,
		ms{&e.ReceivedAt}, ms{&e.QueuedAt}, ms{&e.DoneAt})
	return e, err
}

// StatusInboxPut inserts in (clinic, provider, key) order, so that two
// transactions storing the same keys (a retried batch arriving while the
// first is being stored) take their locks in one order and never deadlock.
func (q *queries) StatusInboxPut(ctx context.Context, entries []beckon.StatusInboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := slices.Clone(entries)
	slices.SortFunc(rows, func(a, b beckon.StatusInboxEntry) int {
		return cmp.Or(cmp.Compare(a.ClinicID, b.ClinicID), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Key, b.Key))
	})
	return q.atomic(ctx, func(q *queries) error {
		for start := 0; start < len(rows); start += statusInboxChunk {
			chunk := rows[start:min(start+statusInboxChunk, len(rows))]
			args := make([]any, 0, len(chunk)*statusInboxColCount)
			for _, e := range chunk {
				received := q.stamp(e.ReceivedAt)
				payload := e.Payload
				if payload == nil {
					payload = []byte{}
				}
				args = append(args, cmp.Or(e.ID, beckon.NewID("sin_")), e.ClinicID, e.Provider, e.Key, payload,
					received.UnixMilli(), orTime(e.QueuedAt, received).UnixMilli(), msArg(e.DoneAt))
			}
			if _, err := q.exec(ctx, "status_inbox.put", `INSERT INTO status_inbox (`+statusInboxCols+`) VALUES `+
				valueRows(len(chunk), statusInboxColCount)+
				` ON CONFLICT (clinic_id, provider, event_key) DO NOTHING`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *queries) StatusInboxGet(ctx context.Context, clinicID, provider, key string) (beckon.StatusInboxEntry, error) {
	return get(ctx, q, "status_inbox.get", scanStatusInbox,
		`SELECT `+statusInboxCols+` FROM status_inbox WHERE clinic_id = $1 AND provider = $2 AND event_key = $3`,
		clinicID, provider, key)
}

func (q *queries) StatusInboxDone(ctx context.Context, clinicID, provider, key string, at time.Time) error {
	_, err := q.exec(ctx, "status_inbox.done", `
		UPDATE status_inbox SET done_at = $4
		WHERE clinic_id = $1 AND provider = $2 AND event_key = $3 AND done_at IS NULL`,
		clinicID, provider, key, q.stamp(at).UnixMilli())
	return err
}

func (q *queries) StatusInboxListPending(ctx context.Context, queuedBefore time.Time, limit int) ([]beckon.StatusInboxEntry, error) {
	return list(ctx, q, "status_inbox.list_pending", scanStatusInbox, `
		SELECT `+statusInboxCols+` FROM status_inbox
		WHERE done_at IS NULL AND queued_at < $1
		ORDER BY queued_at, id LIMIT $2`, queuedBefore.UnixMilli(), cmp.Or(max(limit, 0), 100))
}

func (q *queries) StatusInboxMarkQueued(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return q.atomic(ctx, func(q *queries) error {
		for start := 0; start < len(ids); start += idChunk {
			chunk := ids[start:min(start+idChunk, len(ids))]
			args := []any{at.UnixMilli()}
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := q.exec(ctx, "status_inbox.mark_queued", `
				UPDATE status_inbox SET queued_at = $1
				WHERE done_at IS NULL AND id IN (`+placeholders(2, len(chunk))+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *queries) StatusInboxPrune(ctx context.Context, doneBefore time.Time, limit int) (int, error) {
	n, err := q.exec(ctx, "status_inbox.prune", `
		DELETE FROM status_inbox WHERE id IN (
			SELECT id FROM status_inbox
			WHERE done_at IS NOT NULL AND done_at < $1
			ORDER BY done_at LIMIT $2)`, doneBefore.UnixMilli(), cmp.Or(max(limit, 0), 100))
	return int(n), err
}
