package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
)

// SendClaimMany on PostgreSQL skips the sends another transaction has locked
// (a campaign change superseding them, say): waiting for one of them would
// hold up the whole batch, and with it every delivery behind it. A skipped
// send is not claimed, so its delivery takes the one-by-one path and waits
// alone. SQLite has one writer: there is nothing to skip.
func (q *queries) SendClaimMany(ctx context.Context, refs []beckon.SendRef, token string, now time.Time) ([]beckon.Send, error) {
	_, sqlite := q.db.(sqliteConn)
	var out []beckon.Send
	err := chunks(refs, idChunk, func(part []beckon.SendRef) error {
		var w where
		at := w.arg(q.stamp(now).UnixMilli())
		tok := w.arg(token)
		w.add("status = '" + string(beckon.SendPlanned) + "'")
		in, owned := refList(&w, part)
		if sqlite {
			w.add("id IN " + in)
			w.add(owned)
		} else {
			w.add("id IN (SELECT id FROM sends WHERE status = '" + string(beckon.SendPlanned) + "' AND id IN " + in +
				" AND " + owned + " FOR UPDATE SKIP LOCKED)")
		}
		ss, err := list(ctx, q, "send.claim_many", scanSend, `
			UPDATE sends SET status = '`+string(beckon.SendClaimed)+`', claim_token = `+tok+`, claimed_at = `+at+`,
				attempts = attempts + 1, updated_at = `+at+w.String()+`
			RETURNING `+sendCols, w.args...)
		out = append(out, ss...)
		return err
	})
	return out, err
}

// refList binds the refs' ids once each and returns the id list, "($1, $3)",
// and the condition that a row is of the clinic its id was named with,
// "clinic_id = CASE id WHEN $1 THEN $2 WHEN $3 THEN $4 END" (NULL, so false,
// for an id not in the list). Of an id named twice, the first ref counts.
func refList(w *where, refs []beckon.SendRef) (in, owned string) {
	ids, clinics := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		ids[i], clinics[i] = r.ID, r.ClinicID
	}
	return idCase(w, "clinic_id", ids, clinics)
}

// idCase binds each id once, with its value, and returns the id list,
// "($1, $3)", and the condition that a row's column holds its id's value,
// "column = CASE id WHEN $1 THEN $2 WHEN $3 THEN $4 END".
func idCase(w *where, column string, ids, values []string) (in, cond string) {
	var list, cases strings.Builder
	list.WriteString("(")
	cases.WriteString(column + " = CASE id")
	for i, id := range ids {
		ph := w.arg(id)
		if i > 0 {
			list.WriteString(", ")
		}
		list.WriteString(ph)
		cases.WriteString(" WHEN " + ph + " THEN " + w.arg(values[i]))
	}
	list.WriteString(")")
	cases.WriteString(" END")
	return list.String(), cases.String()
}

func (q *queries) AddressUndeliverableGetMany(ctx context.Context, clinicID string, addresses []string) ([]beckon.UndeliverableAddress, error) {
	var out []beckon.UndeliverableAddress
	err := chunks(addresses, batchChunk, func(part []string) error {
		var w where
		w.add("clinic_id = ?", clinicID)
		w.add("address IN " + inList(&w, part))
		us, err := list(ctx, q, "address.undeliverable_get_many", scanUndeliverable,
			`SELECT clinic_id, channel, address, reason, at FROM undeliverable_addresses`+w.String(), w.args...)
		out = append(out, us...)
		return err
	})
	return out, err
}

func scanUndeliverable(r scanner) (beckon.UndeliverableAddress, error) {
	var a beckon.UndeliverableAddress
	err := r.Scan(&a.ClinicID, &a.Channel, &a.Address, &a.Reason, ms{&a.At})
	return a, err
}

// recordChunk bounds the records of one statement: a message is 17 bound
// parameters, well under both dialects' limits at this size.
const recordChunk = 200

// SendRecordMany first ends the sends whose claim still holds (one UPDATE,
// RETURNING the ids it changed), then inserts the messages and events of
// those only, so a lost claim leaves nothing behind.
func (q *queries) SendRecordMany(ctx context.Context, recs []beckon.SentRecord, now time.Time) ([]string, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	for _, r := range recs {
		if r.Message.ID == "" || r.Message.SendID == "" {
			return nil, errors.New("store: send.record_many: a record needs its message id and send id")
		}
	}
	at := q.stamp(now).UnixMilli()
	if _, sqlite := q.db.(sqliteConn); !sqlite {
		return q.recordOne(ctx, recs, at)
	}
	var lost []string
	err := q.atomic(ctx, func(q *queries) error {
		lost = lost[:0]
		return chunks(recs, recordChunk, func(part []beckon.SentRecord) error {
			ended, err := q.sendEndSent(ctx, part, at)
			if err != nil {
				return err
			}
			kept := part[:0:0]
			for _, r := range part {
				if ended[r.Message.SendID] {
					kept = append(kept, r)
				} else {
					lost = append(lost, r.Message.SendID)
				}
			}
			return q.messageInsertMany(ctx, kept)
		})
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// sendEndSent marks the records' sends sent, each with its message id, where
// the claim is still the record's; it returns the ids it changed.
func (q *queries) sendEndSent(ctx context.Context, recs []beckon.SentRecord, at int64) (map[string]bool, error) {
	var w where
	query := endSentQuery(&w, recs, at)
	rows, err := q.db.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, translate("send.end_sent", err)
	}
	ids, err := scanAll(rows, scanID)
	if err != nil {
		return nil, translate("send.end_sent", err)
	}
	ended := make(map[string]bool, len(ids))
	for _, id := range ids {
		ended[id] = true
	}
	return ended, nil
}

// scanID scans a row of one id.
func scanID(r scanner) (string, error) {
	var id string
	return id, r.Scan(&id)
}

// endSentQuery is sendEndSent's UPDATE, its arguments added to w.
func endSentQuery(w *where, recs []beckon.SentRecord, at int64) string {
	ts := w.arg(at)
	// One placeholder per send id, reused: the message id and the claim token
	// are looked up by it, and id IN (…) stays a primary key lookup.
	var msgID, token, idList strings.Builder
	msgID.WriteString("CASE id")
	token.WriteString("CASE id")
	for i, r := range recs {
		id := w.arg(r.Message.SendID)
		msgID.WriteString(" WHEN " + id + " THEN " + w.arg(r.Message.ID))
		token.WriteString(" WHEN " + id + " THEN " + w.arg(r.Token))
		if i > 0 {
			idList.WriteString(", ")
		}
		idList.WriteString(id)
	}
	msgID.WriteString(" END")
	token.WriteString(" END")
	w.add("status = '" + string(beckon.SendClaimed) + "'")
	w.add("id IN (" + idList.String() + ")")
	w.add("claim_token = " + token.String())
	return `UPDATE sends SET status = '` + string(beckon.SendSent) + `', reason = '', sent_at = ` + ts + `, updated_at = ` + ts + `,
			message_id = ` + msgID.String() + w.String() + `
		RETURNING id`
}

// recordOne is SendRecordMany on PostgreSQL: one statement per chunk (one
// round trip, not five: begin, the sends ended, the messages, their events,
// commit). The sends ended are a data-modifying CTE; only their messages,
// and only those messages' events, are inserted. A single statement is
// atomic, as the transaction was.
func (q *queries) recordOne(ctx context.Context, recs []beckon.SentRecord, at int64) ([]string, error) {
	var lost []string
	err := chunks(recs, recordChunk, func(part []beckon.SentRecord) error {
		var w where
		ended := endSentQuery(&w, part, at)
		msgs := make([]any, 0, len(part)*messageColCount)
		var events []any
		for _, r := range part {
			m := r.Message
			if len(r.Events) > 0 {
				m.Status = r.Events[len(r.Events)-1].Status
			}
			msgs = append(msgs, q.messageArgs(m)...)
			for _, e := range r.Events {
				events = append(events, beckon.NewID("mev_"), m.ID, m.ClinicID, e.Status, e.Detail, q.stamp(e.At).UnixMilli())
			}
		}
		from := len(w.args) + 1
		w.args = append(w.args, msgs...)
		query := `WITH ended AS (` + ended + `),
			m AS (INSERT INTO messages (` + messageCols + `)
				SELECT * FROM (VALUES ` + typedRows(from, len(part), messageCasts) + `) AS v (` + messageCols + `)
				WHERE v.send_id IN (SELECT id FROM ended) RETURNING id)`
		if len(events) > 0 {
			from = len(w.args) + 1
			w.args = append(w.args, events...)
			query += `,
			e AS (INSERT INTO message_events (id, message_id, clinic_id, status, detail, at)
				SELECT * FROM (VALUES ` + typedRows(from, len(events)/6, eventCasts) + `) AS ev (id, message_id, clinic_id, status, detail, at)
				WHERE ev.message_id IN (SELECT id FROM m))`
		}
		ids, err := list(ctx, q, "send.record_many", scanID, query+`
			SELECT id FROM ended`, w.args...)
		if err != nil {
			return err
		}
		for _, r := range part {
			if !slices.Contains(ids, r.Message.SendID) {
				lost = append(lost, r.Message.SendID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// The types of the columns of messages and message_events, in messageCols
// order, for VALUES lists whose parameters the columns cannot type.
var (
	messageCasts = append(slices.Repeat([]string{"text"}, messageColCount-2), "bigint", "bigint")
	eventCasts   = []string{"text", "text", "text", "text", "text", "bigint"}
)

// typedRows is valueRowsFrom with each placeholder cast to its column's
// type: "($1::text, $2::bigint), …".
func typedRows(from, rows int, casts []string) string {
	var b strings.Builder
	n := from
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for j, c := range casts {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(n) + "::" + c)
			n++
		}
		b.WriteString(")")
	}
	return b.String()
}

// messageInsertMany inserts the records' messages and their events, two
// statements in all.
func (q *queries) messageInsertMany(ctx context.Context, recs []beckon.SentRecord) error {
	if len(recs) == 0 {
		return nil
	}
	margs := make([]any, 0, len(recs)*messageColCount)
	var eargs []any
	events := 0
	for _, r := range recs {
		m := r.Message
		if len(r.Events) > 0 {
			m.Status = r.Events[len(r.Events)-1].Status
		}
		margs = append(margs, q.messageArgs(m)...)
		for _, e := range r.Events {
			eargs = append(eargs, beckon.NewID("mev_"), m.ID, m.ClinicID, e.Status, e.Detail, q.stamp(e.At).UnixMilli())
			events++
		}
	}
	if _, err := q.exec(ctx, "message.insert_many", `INSERT INTO messages (`+messageCols+`) VALUES `+
		valueRows(len(recs), messageColCount), margs...); err != nil {
		return err
	}
	if events == 0 {
		return nil
	}
	_, err := q.exec(ctx, "message.insert_many_events", `INSERT INTO message_events (id, message_id, clinic_id, status, detail, at) VALUES `+
		valueRows(events, 6), eargs...)
	return err
}
