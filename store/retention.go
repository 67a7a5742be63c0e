package store

import (
	"cmp"
	"context"

	"github.com/beckonhealth/beckon"
)

// Sends still on their way: what they will deliver must stay.
const sendsUnderway = `('` + string(beckon.SendPlanned) + `', '` + string(beckon.SendClaimed) + `')`

// A provider call is still needed while its send is under way or unknown:
// a stale claim's call is resent with what it holds, and an unknown one may
// be settled from it.
const callsNeeded = `('` + string(beckon.SendPlanned) + `', '` + string(beckon.SendClaimed) + `', '` + string(beckon.SendUnknown) + `')`

// retentionBodies are the purge statements of the message texts, each with
// $1 the cutoff (unix ms) and $2 the batch size. Each selects at most $2 rows
// not purged yet (through the table's *_retention partial index, migration
// 00019) and blanks them; ids, statuses and times stay.
var retentionBodies = []struct {
	op    string
	count func(*beckon.RetentionPurged) *int
	query string
}{
	{"retention.messages", func(r *beckon.RetentionPurged) *int { return &r.Messages }, `
		UPDATE messages SET subject = '', body = '', html = '' WHERE id IN (
			SELECT m.id FROM messages m
			WHERE m.created_at < $1 AND (body <> '' OR subject <> '' OR html <> '')
				AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.id = m.send_id AND s.status IN ` + sendsUnderway + `)
				AND NOT EXISTS (SELECT 1 FROM inbound_sms i WHERE i.id = m.id AND i.interpreted_at IS NULL)
			LIMIT $2)`},
	{"retention.outbox", func(r *beckon.RetentionPurged) *int { return &r.Outbox }, `
		UPDATE outbox SET subject = '', body = '', html = '', headers = '' WHERE id IN (
			SELECT o.id FROM outbox o
			WHERE o.created_at < $1 AND (body <> '' OR subject <> '' OR html <> '' OR headers <> '')
				AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.id = o.send_id AND s.status IN ` + sendsUnderway + `)
			LIMIT $2)`},
	{"retention.send_calls", func(r *beckon.RetentionPurged) *int { return &r.SendCalls }, `
		UPDATE send_calls SET subject = '', body = '', html = '' WHERE send_id IN (
			SELECT c.send_id FROM send_calls c
			WHERE c.started_at < $1 AND (c.body <> '' OR c.subject <> '' OR c.html <> '')
				AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.id = c.send_id AND s.status IN ` + callsNeeded + `)
			LIMIT $2)`},
	{"retention.send_messages", func(r *beckon.RetentionPurged) *int { return &r.SendMessages }, `
		UPDATE send_messages SET text = '', data_json = '' WHERE send_id IN (
			SELECT m.send_id FROM send_messages m
			WHERE m.created_at < $1 AND (text <> '' OR data_json <> '')
				AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.id = m.send_id AND s.status IN ` + sendsUnderway + `)
			LIMIT $2)`},
	{"retention.inbound_sms", func(r *beckon.RetentionPurged) *int { return &r.InboundSMS }, `
		UPDATE inbound_sms SET body = '' WHERE id IN (
			SELECT id FROM inbound_sms
			WHERE received_at < $1 AND body <> '' AND interpreted_at IS NOT NULL
			LIMIT $2)`},
}

// RetentionPurge runs each statement on its own (outside any transaction
// of q's caller when q is the store), so that each holds its row locks only
// for one batch.
func (q *queries) RetentionPurge(ctx context.Context, p beckon.RetentionPurgeParams) (beckon.RetentionPurged, error) {
	var out beckon.RetentionPurged
	limit := cmp.Or(p.Limit, 1000)
	if !p.BodiesBefore.IsZero() {
		cutoff := p.BodiesBefore.UnixMilli()
		for _, s := range retentionBodies {
			n, err := q.exec(ctx, s.op, s.query, cutoff, limit)
			if err != nil {
				return out, err
			}
			*s.count(&out) = int(n)
		}
	}
	if !p.ArchivesBefore.IsZero() {
		n, err := q.exec(ctx, "retention.archives", `
			DELETE FROM inbound_messages WHERE id IN (
				SELECT id FROM inbound_messages WHERE received_at < $1 ORDER BY received_at LIMIT $2)`,
			p.ArchivesBefore.UnixMilli(), limit)
		if err != nil {
			return out, err
		}
		out.Archives = int(n)
	}
	return out, nil
}
