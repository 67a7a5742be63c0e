package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
)

// reopenedClaimAt is the ClaimedAt of a reopened send: old enough for any
// stale-claim pass.
const reopenedClaimAt = 1

// claimRefChunk bounds the claims of one statement (two parameters each).
const claimRefChunk = 500

// claimList adds the conditions that a row is one of the claims and is
// claimed with its token.
func claimList(w *where, claims []beckon.ClaimRef) {
	ids, tokens := make([]string, len(claims)), make([]string, len(claims))
	for i, c := range claims {
		ids[i], tokens[i] = c.ID, c.Token
	}
	in, held := idCase(w, "claim_token", ids, tokens)
	w.add("status = '" + string(beckon.SendClaimed) + "'")
	w.add("id IN " + in)
	w.add(held)
}

const sendCallCols = `send_id, clinic_id, claim_token, channel, to_addr, subject, body, html, started_at`

func scanSendCall(r scanner) (beckon.SendCall, error) {
	var c beckon.SendCall
	err := r.Scan(&c.SendID, &c.ClinicID, &c.ClaimToken, (*string)(&c.Channel), &c.To, &c.Subject, &c.Body, &c.HTML, ms{&c.StartedAt})
	return c, err
}

func (q *queries) SendCallStartMany(ctx context.Context, calls []beckon.SendCall, now time.Time) ([]string, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	for _, c := range calls {
		if c.SendID == "" || c.ClaimToken == "" {
			return nil, errors.New("store: send.call_start: a call needs its send id and claim token")
		}
	}
	at := q.stamp(now).UnixMilli()
	if _, sqlite := q.db.(sqliteConn); !sqlite {
		return q.callStartOne(ctx, calls, at)
	}
	var lost []string
	err := q.atomic(ctx, func(q *queries) error {
		lost = lost[:0]
		return chunks(calls, recordChunk, func(part []beckon.SendCall) error {
			claims := make([]beckon.ClaimRef, len(part))
			for i, c := range part {
				claims[i] = beckon.ClaimRef{ID: c.SendID, Token: c.ClaimToken}
			}
			held, err := q.claimRenew(ctx, claims, at, true)
			if err != nil {
				return err
			}
			var args []any
			n := 0
			for _, c := range part {
				if !held[c.SendID] {
					lost = append(lost, c.SendID)
					continue
				}
				args = append(args, c.SendID, c.ClinicID, c.ClaimToken, string(c.Channel), c.To, c.Subject, c.Body, c.HTML, at)
				n++
			}
			if n == 0 {
				return nil
			}
			_, err = q.exec(ctx, "send.call_start", `INSERT INTO send_calls (`+sendCallCols+`) VALUES `+
				valueRows(n, 9)+sendCallUpsert, args...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// sendCallUpsert replaces an earlier attempt's record of a send's call.
const sendCallUpsert = `
	ON CONFLICT (send_id) DO UPDATE SET clinic_id = excluded.clinic_id,
		claim_token = excluded.claim_token, channel = excluded.channel,
		to_addr = excluded.to_addr, subject = excluded.subject, body = excluded.body,
		html = excluded.html, started_at = excluded.started_at`

// callStartOne is SendCallStartMany on PostgreSQL: one statement per chunk
// (one round trip, not four: begin, renew, insert, commit) — the claims'
// renewal in a data-modifying CTE, which locks each send's row and, behind
// a concurrent takeover, re-checks the token on the row's newest version as
// the renewal alone does, and the records of the sends it renewed. A
// single statement is atomic: a claim renewed has its call recorded.
func (q *queries) callStartOne(ctx context.Context, calls []beckon.SendCall, at int64) ([]string, error) {
	var lost []string
	err := chunks(calls, recordChunk, func(part []beckon.SendCall) error {
		claims := make([]beckon.ClaimRef, len(part))
		for i, c := range part {
			claims[i] = beckon.ClaimRef{ID: c.SendID, Token: c.ClaimToken}
		}
		var w where
		ts := w.arg(at)
		claimList(&w, claims)
		held := `UPDATE sends SET claimed_at = ` + ts + w.String() + ` RETURNING id`
		args := w.args
		for _, c := range part {
			args = append(args, c.SendID, c.ClinicID, c.ClaimToken, string(c.Channel), c.To, c.Subject, c.Body, c.HTML)
		}
		started, err := list(ctx, q, "send.call_start", scanID, `WITH held AS (`+held+`),
			v (send_id, clinic_id, claim_token, channel, to_addr, subject, body, html) AS (VALUES `+
			valueRowsFrom(len(w.args)+1, len(part), 8)+`)
			INSERT INTO send_calls (`+sendCallCols+`)
			SELECT v.send_id, v.clinic_id, v.claim_token, v.channel, v.to_addr, v.subject, v.body, v.html, `+ts+`
			FROM v JOIN held ON held.id = v.send_id`+sendCallUpsert+`
			RETURNING send_id`, args...)
		if err != nil {
			return err
		}
		for _, c := range part {
			if !slices.Contains(started, c.SendID) {
				lost = append(lost, c.SendID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// claimRenew sets claimed_at on the sends still claimed with the claims'
// tokens; with held, it returns the ids it changed.
func (q *queries) claimRenew(ctx context.Context, claims []beckon.ClaimRef, at int64, held bool) (map[string]bool, error) {
	var w where
	ts := w.arg(at)
	claimList(&w, claims)
	query := `UPDATE sends SET claimed_at = ` + ts + w.String()
	if !held {
		_, err := q.exec(ctx, "send.claim_renew", query, w.args...)
		return nil, err
	}
	ids, err := list(ctx, q, "send.claim_renew", func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, query+` RETURNING id`, w.args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

func (q *queries) SendClaimRenew(ctx context.Context, claims []beckon.ClaimRef, now time.Time) error {
	at := q.stamp(now).UnixMilli()
	return chunks(claims, claimRefChunk, func(part []beckon.ClaimRef) error {
		_, err := q.claimRenew(ctx, part, at, false)
		return err
	})
}

func (q *queries) SendCallGet(ctx context.Context, clinicID, sendID string) (beckon.SendCall, error) {
	return get(ctx, q, "send.call_get", scanSendCall,
		`SELECT `+sendCallCols+` FROM send_calls WHERE clinic_id = $1 AND send_id = $2`, clinicID, sendID)
}

func (q *queries) SendCallTakeOver(ctx context.Context, clinicID, sendID, oldToken, newToken string) (beckon.SendCall, bool, error) {
	if oldToken == "" {
		return beckon.SendCall{}, false, nil
	}
	c, err := get(ctx, q, "send.call_take_over", scanSendCall, `
		UPDATE send_calls SET claim_token = $4
		WHERE clinic_id = $1 AND send_id = $2 AND (claim_token = $3 OR claim_token = $4)
		RETURNING `+sendCallCols, clinicID, sendID, oldToken, newToken)
	if errors.Is(err, beckon.ErrNotFound) {
		return beckon.SendCall{}, false, nil
	}
	return c, err == nil, err
}

func (q *queries) SendSightingRecord(ctx context.Context, s beckon.SendSighting) error {
	if s.SendID == "" || s.ClinicID == "" || s.Provider == "" {
		return errors.New("store: send.sighting_record: a sighting needs its send, clinic and provider")
	}
	at := q.stamp(s.At).UnixMilli()
	return q.atomic(ctx, func(q *queries) error {
		if _, err := q.exec(ctx, "send.sighting_record", `
			INSERT INTO send_sightings (send_id, clinic_id, provider, provider_id, status, at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (send_id) DO NOTHING`,
			s.SendID, s.ClinicID, s.Provider, s.ProviderID, s.Status, at); err != nil {
			return err
		}
		// A claim left until a later look (ClaimedAt ahead of now: waiting for
		// this very word) is looked at again at once. A live worker's claim
		// is never ahead of now, and is left alone.
		_, err := q.exec(ctx, "send.sighting_wake", `
			UPDATE sends SET claimed_at = $3
			WHERE clinic_id = $1 AND id = $2 AND status = '`+string(beckon.SendClaimed)+`' AND claimed_at > $4`,
			s.ClinicID, s.SendID, reopenedClaimAt, at)
		return err
	})
}

func (q *queries) SendSightingGet(ctx context.Context, clinicID, sendID string) (beckon.SendSighting, error) {
	return get(ctx, q, "send.sighting_get", func(r scanner) (beckon.SendSighting, error) {
		var s beckon.SendSighting
		err := r.Scan(&s.SendID, &s.ClinicID, &s.Provider, &s.ProviderID, &s.Status, ms{&s.At})
		return s, err
	}, `SELECT send_id, clinic_id, provider, provider_id, status, at FROM send_sightings
		WHERE clinic_id = $1 AND send_id = $2`, clinicID, sendID)
}

func (q *queries) SendReopen(ctx context.Context, clinicID, sendID string, now time.Time) (bool, error) {
	var ok bool
	err := q.atomic(ctx, func(q *queries) error {
		// A new token (the old one with a suffix), so the pump's task for
		// this claim is a new one; the send's call goes with it.
		var err error
		ok, err = q.execOne(ctx, "send.reopen", `
			UPDATE sends SET status = '`+string(beckon.SendClaimed)+`', claimed_at = $3, updated_at = $4,
				claim_token = claim_token || '.r', reason = 'a provider reported the message: settling'
			WHERE clinic_id = $1 AND id = $2 AND status = '`+string(beckon.SendUnknown)+`'`,
			clinicID, sendID, reopenedClaimAt, q.stamp(now).UnixMilli())
		if err != nil || !ok {
			return err
		}
		_, err = q.exec(ctx, "send.reopen_call", `
			UPDATE send_calls SET claim_token = claim_token || '.r' WHERE clinic_id = $1 AND send_id = $2`,
			clinicID, sendID)
		return err
	})
	return ok, err
}

func (q *queries) SendCallPrune(ctx context.Context, settledBefore, expireBefore time.Time, limit int) (int, error) {
	total := 0
	for _, table := range []struct{ name, at string }{{"send_calls", "started_at"}, {"send_sightings", "at"}} {
		n, err := q.exec(ctx, "send.call_prune", `
			DELETE FROM `+table.name+` WHERE send_id IN (
				SELECT t.send_id FROM `+table.name+` t LEFT JOIN sends s ON s.id = t.send_id
				WHERE (t.`+table.at+` < $1 AND (s.status IS NULL OR s.status NOT IN ('`+string(beckon.SendClaimed)+`', '`+string(beckon.SendUnknown)+`')))
					OR t.`+table.at+` < $2
				LIMIT $3)`,
			settledBefore.UnixMilli(), expireBefore.UnixMilli(), limit)
		if err != nil {
			return total, err
		}
		total += int(n)
	}
	return total, nil
}
