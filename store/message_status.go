package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/beckonhealth/beckon"
)

func (q *queries) MessageGetByProvider(ctx context.Context, clinicID, provider, providerID string) (beckon.Message, error) {
	if providerID == "" {
		return beckon.Message{}, beckon.ErrNotFound
	}
	return get(ctx, q, "message.get_by_provider", scanMessage,
		`SELECT `+messageCols+` FROM messages
		WHERE clinic_id = $1 AND provider = $2 AND provider_id = $3 AND direction = $4
		ORDER BY created_at, id LIMIT 1`, clinicID, provider, providerID, beckon.Outbound)
}

// statusRankSQL is MessageStatusRank in SQL; a status it does not know
// (inbound "received") ranks above every other, so it is never replaced.
const statusRankSQL = `CASE status WHEN 'queued' THEN 0 WHEN 'sent' THEN 1
	WHEN 'delivered' THEN 2 WHEN 'undelivered' THEN 2 WHEN 'failed' THEN 2 ELSE 99 END`

func (q *queries) MessageStatusApply(ctx context.Context, clinicID string, e beckon.MessageEvent) (bool, error) {
	at := q.stamp(e.At).UnixMilli()
	moved := false
	err := q.atomic(ctx, func(q *queries) error {
		var one int
		err := q.db.QueryRowContext(ctx,
			`SELECT 1 FROM messages WHERE clinic_id = $1 AND id = $2`,
			clinicID, e.MessageID).Scan(&one)
		if err != nil {
			return translate("message.status_apply", err)
		}
		if r := beckon.MessageStatusRank(e.Status); r >= 0 {
			// One statement compares and moves, so two callbacks applied at
			// once cannot move the status backwards (PostgreSQL re-checks the
			// condition on the row it waited for).
			moved, err = q.execOne(ctx, "message.status_apply", `
				UPDATE messages SET status = $3, updated_at = $4
				WHERE clinic_id = $1 AND id = $2 AND `+statusRankSQL+` < $5`,
				clinicID, e.MessageID, e.Status, at, r)
			if err != nil {
				return err
			}
		}
		_, err = q.exec(ctx, "message.status_apply", `
			INSERT INTO message_events (id, message_id, clinic_id, status, detail, at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			beckon.NewID("mev_"), e.MessageID, clinicID, e.Status, e.Detail, at)
		return err
	})
	return moved, err
}

// ProviderEventRecord keys the event by clinic and key, the clinic id written
// with its length so that no two (clinic, key) pairs share a stored key: one
// clinic's callbacks can never use up another's keys.
func (q *queries) ProviderEventRecord(ctx context.Context, clinicID, provider, key string, at time.Time) (bool, error) {
	if clinicID == "" {
		return false, errors.New("store: provider_event.record: no clinic")
	}
	return q.execOne(ctx, "provider_event.record", `
		INSERT INTO provider_events (provider, event_key, at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, provider, strconv.Itoa(len(clinicID))+":"+clinicID+":"+key, q.stamp(at).UnixMilli())
}

func (q *queries) AddressMarkUndeliverable(ctx context.Context, a beckon.UndeliverableAddress) error {
	_, err := q.exec(ctx, "address.mark_undeliverable", `
		INSERT INTO undeliverable_addresses (clinic_id, channel, address, reason, at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (clinic_id, channel, address) DO UPDATE SET
			reason = excluded.reason, at = excluded.at`,
		a.ClinicID, a.Channel, a.Address, a.Reason, q.stamp(a.At).UnixMilli())
	return err
}

func (q *queries) AddressUndeliverableGet(ctx context.Context, clinicID string, channel beckon.Channel, address string) (beckon.UndeliverableAddress, error) {
	return get(ctx, q, "address.undeliverable_get", scanUndeliverable, `SELECT clinic_id, channel, address, reason, at FROM undeliverable_addresses
		WHERE clinic_id = $1 AND channel = $2 AND address = $3`, clinicID, channel, address)
}
