package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
)

const sendCols = `id, clinic_id, appointment_id, appointment_version, patient_id, campaign_id,
	campaign_revision, step_id, channel, template, due_at, before_start, only_if_unconfirmed,
	status, reason, attempts, claim_token, claimed_at, enqueued_at, sent_at, message_id,
	created_at, updated_at`

const sendColCount = 23

// sendInsertChunk rows per INSERT keeps the statement well under both
// dialects' limits on bound parameters (SQLite 32766, PostgreSQL 65535).
const sendInsertChunk = 500

// idChunk ids per IN list.
const idChunk = 1000

// The domain's named string types (beckon.Channel, beckon.SendStatus, …)
// pass to and from the drivers as plain strings, here and in every row
// reader and writer: pgx encodes a named type, and database/sql scans into
// one, through reflection, which cost about 15 % of ingest on PostgreSQL.
func scanSend(r scanner) (beckon.Send, error) {
	var s beckon.Send
	err := r.Scan(&s.ID, &s.ClinicID, &s.AppointmentID, &s.AppointmentVersion, &s.PatientID,
		&s.CampaignID, &s.CampaignRevision, &s.StepID, (*string)(&s.Channel), &s.Template, ms{&s.DueAt},
		&s.BeforeStart, &s.OnlyIfUnconfirmed, (*string)(&s.Status), &s.Reason, &s.Attempts, &s.ClaimToken,
		ms{&s.ClaimedAt}, ms{&s.EnqueuedAt}, ms{&s.SentAt}, &s.MessageID,
		ms{&s.CreatedAt}, ms{&s.UpdatedAt})
	return s, err
}

func sendArgs(s beckon.Send, now time.Time) []any {
	status := s.Status
	if status == "" {
		status = beckon.SendPlanned
	}
	created := orTime(s.CreatedAt, now)
	return []any{s.ID, s.ClinicID, s.AppointmentID, s.AppointmentVersion, s.PatientID,
		s.CampaignID, s.CampaignRevision, s.StepID, string(s.Channel), s.Template, msArg(s.DueAt),
		s.BeforeStart, s.OnlyIfUnconfirmed, string(status), s.Reason, s.Attempts, s.ClaimToken,
		msArg(s.ClaimedAt), msArg(s.EnqueuedAt), msArg(s.SentAt), s.MessageID,
		created.UnixMilli(), orTime(s.UpdatedAt, created).UnixMilli()}
}

// SendInsert inserts the sends with multi-row INSERTs of up to sendInsertChunk
// rows, in one transaction. An empty Status is SendPlanned.
func (q *queries) SendInsert(ctx context.Context, sends []beckon.Send) error {
	if len(sends) == 0 {
		return nil
	}
	now := q.now()
	return q.atomic(ctx, func(q *queries) error {
		for start := 0; start < len(sends); start += sendInsertChunk {
			chunk := sends[start:min(start+sendInsertChunk, len(sends))]
			args := make([]any, 0, len(chunk)*sendColCount)
			for _, s := range chunk {
				args = append(args, sendArgs(s, now)...)
			}
			query := `INSERT INTO sends (` + sendCols + `) VALUES ` + valueRows(len(chunk), sendColCount) +
				` ON CONFLICT (id) DO NOTHING`
			if _, err := q.exec(ctx, "send.insert", query, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *queries) SendGet(ctx context.Context, clinicID, id string) (beckon.Send, error) {
	return get(ctx, q, "send.get", scanSend,
		`SELECT `+sendCols+` FROM sends WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) SendListByAppointment(ctx context.Context, clinicID, appointmentID string) ([]beckon.Send, error) {
	return list(ctx, q, "send.list_by_appointment", scanSend, `
		SELECT `+sendCols+` FROM sends
		WHERE clinic_id = $1 AND appointment_id = $2
		ORDER BY due_at, id`, clinicID, appointmentID)
}

// SendListDue: a zero EnqueuedBefore lists only sends never enqueued; Limit 0
// is no limit.
func (q *queries) SendListDue(ctx context.Context, p beckon.SendListDueParams) ([]beckon.Send, error) {
	return list(ctx, q, "send.list_due", scanSend, `
		SELECT `+sendCols+` FROM sends
		WHERE status = '`+string(beckon.SendPlanned)+`' AND due_at <= $1
			AND (enqueued_at IS NULL OR enqueued_at <= $2)
		ORDER BY due_at, id`+limitClause(p.Limit),
		p.DueBefore.UnixMilli(), msArg(p.EnqueuedBefore))
}

// SendListStaleClaims lists the oldest claims first; limit 0 is no limit.
func (q *queries) SendListStaleClaims(ctx context.Context, claimedBefore time.Time, limit int) ([]beckon.Send, error) {
	return list(ctx, q, "send.list_stale_claims", scanSend, `
		SELECT `+sendCols+` FROM sends
		WHERE status = '`+string(beckon.SendClaimed)+`' AND claimed_at <= $1
		ORDER BY claimed_at, id`+limitClause(limit),
		claimedBefore.UnixMilli())
}

// SendListHeldBefore lists, among the ids, the sends no live worker holds
// though they should be held by now: planned and due at or before before,
// or claimed with a claim last renewed at or before before.
func (q *queries) SendListHeldBefore(ctx context.Context, ids []string, before time.Time) ([]beckon.Send, error) {
	var out []beckon.Send
	err := chunks(ids, idChunk, func(part []string) error {
		var w where
		at := w.arg(before.UnixMilli())
		w.add("id IN " + inList(&w, part))
		w.add("((status = '" + string(beckon.SendPlanned) + "' AND due_at <= " + at + ") OR (status = '" + string(beckon.SendClaimed) + "' AND claimed_at <= " + at + "))")
		ss, err := list(ctx, q, "send.list_held_before", scanSend, `SELECT `+sendCols+` FROM sends`+w.String(), w.args...)
		out = append(out, ss...)
		return err
	})
	return out, err
}

// SendMarkEnqueued sets EnqueuedAt on those of the sends that are still
// planned, up to idChunk ids per statement.
func (q *queries) SendMarkEnqueued(ctx context.Context, ids []string, at time.Time) error {
	return q.markEnqueued(ctx, "send.mark_enqueued", "sends", string(beckon.SendPlanned), ids, at)
}

// markEnqueued sets enqueued_at = at on the rows of table among ids that
// are still in status waiting, a chunk of ids per statement, in one
// transaction.
func (q *queries) markEnqueued(ctx context.Context, op, table, waiting string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return q.atomic(ctx, func(q *queries) error {
		for start := 0; start < len(ids); start += idChunk {
			chunk := ids[start:min(start+idChunk, len(ids))]
			args := make([]any, 0, len(chunk)+2)
			args = append(args, at.UnixMilli(), waiting)
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := q.exec(ctx, op, `
				UPDATE `+table+` SET enqueued_at = $1
				WHERE status = $2 AND id IN (`+placeholders(3, len(chunk))+`)`,
				args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// SendClaim is one conditional UPDATE … RETURNING: of concurrent callers, at
// most one sees the row. A zero StaleBefore never takes a claimed send.
//
// Taking over a stale claim hands the call started under it (if any) to the
// new token in the same transaction: were that a later step, an attempt that
// stopped between the two would leave a claim whose call no later attempt
// could find, and that call, perhaps at the provider, would be made again.
func (q *queries) SendClaim(ctx context.Context, p beckon.SendClaimParams) (beckon.Send, bool, error) {
	if p.StaleBefore.IsZero() {
		return q.sendClaim(ctx, p, false, "")
	}
	var (
		s       beckon.Send
		claimed bool
	)
	err := q.atomic(ctx, func(q *queries) error {
		// The stale claim's token, read in the transaction; the UPDATE
		// takes the claim only if it still holds it.
		prev, err := get(ctx, q, "send.claim_stale", func(r scanner) (string, error) {
			var tok string
			return tok, r.Scan(&tok)
		}, `SELECT claim_token FROM sends
			WHERE clinic_id = $1 AND id = $2 AND status = '`+string(beckon.SendClaimed)+`' AND claimed_at <= $3`,
			p.ClinicID, p.ID, msArg(p.StaleBefore))
		stale := err == nil
		if err != nil && !errors.Is(err, beckon.ErrNotFound) {
			return err
		}
		s, claimed, err = q.sendClaim(ctx, p, stale, prev)
		if err != nil || !claimed || !stale {
			return err
		}
		_, err = q.exec(ctx, "send.claim_call", `
			UPDATE send_calls SET claim_token = $3 WHERE clinic_id = $1 AND send_id = $2 AND claim_token = $4`,
			p.ClinicID, p.ID, p.Token, prev)
		return err
	})
	if err != nil {
		return beckon.Send{}, false, err
	}
	return s, claimed, nil
}

// sendClaim claims a planned send or, with stale, the stale claim held with
// prev (and only that one).
func (q *queries) sendClaim(ctx context.Context, p beckon.SendClaimParams, stale bool, prev string) (beckon.Send, bool, error) {
	cond := `status = '` + string(beckon.SendPlanned) + `'`
	args := []any{p.ClinicID, p.ID, p.Token, q.stamp(p.Now).UnixMilli()}
	if stale {
		cond = `status = '` + string(beckon.SendClaimed) + `' AND claimed_at <= $5 AND claim_token = $6`
		args = append(args, msArg(p.StaleBefore), prev)
	}
	s, err := get(ctx, q, "send.claim", scanSend, `
		UPDATE sends SET status = '`+string(beckon.SendClaimed)+`', claim_token = $3, claimed_at = $4,
			attempts = attempts + 1, updated_at = $4
		WHERE clinic_id = $1 AND id = $2 AND `+cond+`
		RETURNING `+sendCols, args...)
	if err == nil {
		return s, true, nil
	}
	if !errors.Is(err, beckon.ErrNotFound) {
		return beckon.Send{}, false, err
	}
	s, err = q.SendGet(ctx, p.ClinicID, p.ID)
	return s, false, err
}

// SendFinish keeps the claim token and ClaimedAt as a record of the attempt.
func (q *queries) SendFinish(ctx context.Context, p beckon.SendFinishParams) error {
	if !p.Status.Final() {
		return fmt.Errorf("store: send.finish: status %q is not final", p.Status)
	}
	now := q.stamp(p.Now).UnixMilli()
	set := `status = $3, reason = $4, updated_at = $5`
	args := []any{p.ID, p.Token, p.Status, p.Reason, now}
	if p.Status == beckon.SendSent {
		set += `, sent_at = $5, message_id = $6`
		args = append(args, p.MessageID)
	}
	ok, err := q.execOne(ctx, "send.finish", `
		UPDATE sends SET `+set+`
		WHERE id = $1 AND status = '`+string(beckon.SendClaimed)+`' AND claim_token = $2`, args...)
	if err != nil || ok {
		return err
	}
	return q.claimLost(ctx, p.ID)
}

// SendRelease clears the claim (token and ClaimedAt); Attempts stays.
func (q *queries) SendRelease(ctx context.Context, p beckon.SendReleaseParams) error {
	args := []any{p.ID, p.Token, p.Reason, q.stamp(p.Now).UnixMilli()}
	due := ""
	if !p.DueAt.IsZero() {
		due = `, due_at = $5`
		args = append(args, p.DueAt.UnixMilli())
	}
	ok, err := q.execOne(ctx, "send.release", `
		UPDATE sends SET status = '`+string(beckon.SendPlanned)+`', reason = $3, updated_at = $4,
			claim_token = '', claimed_at = NULL, enqueued_at = NULL`+due+`
		WHERE id = $1 AND status = '`+string(beckon.SendClaimed)+`' AND claim_token = $2`, args...)
	if err != nil || ok {
		return err
	}
	return q.claimLost(ctx, p.ID)
}

// claimLost explains a conditional write on a claim that matched nothing:
// ErrNotFound without the send, else ErrConflict.
func (q *queries) claimLost(ctx context.Context, id string) error {
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM sends WHERE id = $1`, id).Scan(&one)
	if err != nil {
		return translate("send.claim_check", err)
	}
	return beckon.ErrConflict
}
