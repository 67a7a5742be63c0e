package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// DispatchQuerier holds the set-at-a-time queries of delivery: deliveries
// running at the same moment share one claim statement and one record
// transaction instead of paying for their own.
type DispatchQuerier interface {
	// SendClaimMany claims, with one token, those of the named sends that are
	// planned and of the clinic they are named with, and returns them as
	// claimed. Sends not returned were not planned (claimed by someone else,
	// ended), are unknown, or are another clinic's: SendClaim tells which.
	SendClaimMany(ctx context.Context, refs []SendRef, token string, now time.Time) ([]Send, error)
	// SendGetMany returns the clinic's sends among ids, by id: what a
	// delivery re-reads just before its provider call, for every delivery
	// of the moment at once.
	SendGetMany(ctx context.Context, clinicID string, ids []string) (map[string]Send, error)
	// SendReadMany returns the clinic's sends among ids, by id, each with
	// its appointment, patient and campaign's revision as stored now, in one
	// statement: what a delivery re-checks just before its provider call.
	SendReadMany(ctx context.Context, clinicID string, ids []string) (map[string]SendRead, error)
	// AddressUndeliverableGetMany returns the clinic's undeliverable records
	// among addresses (phone numbers and email addresses, any channel).
	AddressUndeliverableGetMany(ctx context.Context, clinicID string, addresses []string) ([]UndeliverableAddress, error)
	// SendRecordMany ends each record's send as sent with its message, as
	// SendFinish and MessageRecord would, in one transaction. A send whose
	// claim is no longer the record's token is left alone and its message is
	// not stored: its id is returned in lost.
	SendRecordMany(ctx context.Context, recs []SentRecord, now time.Time) (lost []string, err error)
}

// SentRecord is a message a provider accepted for a claimed send.
type SentRecord struct {
	Token   string // the claim under which the message was sent
	Message Message
	// Events are the message's first events; the message takes the status of
	// the last one (Message.Status if none).
	Events []MessageEvent
}

// SendRef names a send of a clinic.
type SendRef struct {
	ClinicID string
	ID       string
}

// SendClaimMany on PostgreSQL skips the sends another transaction has locked
// (a campaign change superseding them, say): waiting for one of them would
// hold up the whole batch, and with it every delivery behind it. A skipped
// send is not claimed, so its delivery takes the one-by-one path and waits
// alone. SQLite has one writer: there is nothing to skip.
func (q *queries) SendClaimMany(ctx context.Context, refs []SendRef, token string, now time.Time) ([]Send, error) {
	_, sqlite := q.db.(sqliteConn)
	var out []Send
	err := chunks(refs, idChunk, func(part []SendRef) error {
		var w where
		at := w.arg(q.stamp(now).UnixMilli())
		tok := w.arg(token)
		w.add("status = '" + SendPlanned + "'")
		in, owned := refList(&w, part)
		if sqlite {
			w.add("id IN " + in)
			w.add(owned)
		} else {
			w.add("id IN (SELECT id FROM sends WHERE status = '" + SendPlanned + "' AND id IN " + in +
				" AND " + owned + " FOR UPDATE SKIP LOCKED)")
		}
		ss, err := list(ctx, q, "send.claim_many", scanSend, `
			UPDATE sends SET status = '`+SendClaimed+`', claim_token = `+tok+`, claimed_at = `+at+`,
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
func refList(w *where, refs []SendRef) (in, owned string) {
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

func (q *queries) AddressUndeliverableGetMany(ctx context.Context, clinicID string, addresses []string) ([]UndeliverableAddress, error) {
	var out []UndeliverableAddress
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

func scanUndeliverable(r scanner) (UndeliverableAddress, error) {
	var a UndeliverableAddress
	err := r.Scan(&a.ClinicID, &a.Channel, &a.Address, &a.Reason, ms{&a.At})
	return a, err
}

// recordChunk bounds the records of one statement: a message is 17 bound
// parameters, well under both dialects' limits at this size.
const recordChunk = 200

// SendRecordMany first ends the sends whose claim still holds (one UPDATE,
// RETURNING the ids it changed), then inserts the messages and events of
// those only, so a lost claim leaves nothing behind.
func (q *queries) SendRecordMany(ctx context.Context, recs []SentRecord, now time.Time) ([]string, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	for _, r := range recs {
		if r.Message.ID == "" || r.Message.SendID == "" {
			return nil, errors.New("store: send.record_many: a record needs its message id and send id")
		}
	}
	at := q.stamp(now).UnixMilli()
	var lost []string
	err := q.atomic(ctx, func(q *queries) error {
		lost = lost[:0]
		return chunks(recs, recordChunk, func(part []SentRecord) error {
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
func (q *queries) sendEndSent(ctx context.Context, recs []SentRecord, at int64) (map[string]bool, error) {
	var w where
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
	w.add("status = '" + SendClaimed + "'")
	w.add("id IN (" + idList.String() + ")")
	w.add("claim_token = " + token.String())
	rows, err := q.db.QueryContext(ctx, `
		UPDATE sends SET status = '`+SendSent+`', reason = '', sent_at = `+ts+`, updated_at = `+ts+`,
			message_id = `+msgID.String()+w.String()+`
		RETURNING id`, w.args...)
	if err != nil {
		return nil, translate("send.end_sent", err)
	}
	ids, err := scanAll(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, translate("send.end_sent", err)
	}
	ended := make(map[string]bool, len(ids))
	for _, id := range ids {
		ended[id] = true
	}
	return ended, nil
}

// messageInsertMany inserts the records' messages and their events, two
// statements in all.
func (q *queries) messageInsertMany(ctx context.Context, recs []SentRecord) error {
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
			eargs = append(eargs, NewID("mev_"), m.ID, m.ClinicID, e.Status, e.Detail, q.stamp(e.At).UnixMilli())
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
