package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
)

const endpointCols = `clinic_id, id, url, event_types, secret, enabled, disabled_reason,
	disabled_at, failing_since, created_at, updated_at`

// scanEndpoint reads a row and opens its secret.
func (q *queries) scanEndpoint(r scanner) (beckon.WebhookEndpoint, error) {
	var (
		e     beckon.WebhookEndpoint
		types string
	)
	if err := r.Scan(&e.ClinicID, &e.ID, &e.URL, &types, &e.Secret, &e.Enabled, &e.DisabledReason,
		ms{&e.DisabledAt}, ms{&e.FailingSince}, ms{&e.CreatedAt}, ms{&e.UpdatedAt}); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return e, fmt.Errorf("webhook endpoint %s: event types: %w", e.ID, err)
	}
	if len(e.EventTypes) == 0 {
		e.EventTypes = nil
	}
	return e, q.open(secretEndpointSecret, &e.Secret, e.ClinicID, e.ID)
}

// WebhookEndpointPut inserts the endpoint, or replaces it keeping its
// CreatedAt (and its secret when e.Secret is empty). Enabling an endpoint
// clears why it was disabled and since when it was failing.
func (q *queries) WebhookEndpointPut(ctx context.Context, e beckon.WebhookEndpoint) (bool, error) {
	types, err := json.Marshal(e.EventTypes)
	if err != nil || e.EventTypes == nil {
		types = []byte("[]")
	}
	now := q.stamp(e.UpdatedAt)
	secret := q.seal(secretEndpointSecret, e.Secret, e.ClinicID, e.ID) // empty: keep the stored one
	var created bool
	err = q.atomic(ctx, func(q *queries) error {
		_, err := q.WebhookEndpointGet(ctx, e.ClinicID, e.ID)
		switch {
		case err == nil:
			_, err = q.exec(ctx, "webhook_endpoint.update", `
				UPDATE webhook_endpoints SET url = $3, event_types = $4,
					secret = CASE WHEN $5 = '' THEN secret ELSE $5 END, enabled = $6,
					disabled_reason = CASE WHEN $6 THEN '' ELSE disabled_reason END,
					disabled_at = CASE WHEN $6 THEN NULL ELSE disabled_at END,
					failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
					updated_at = $7
				WHERE clinic_id = $1 AND id = $2`,
				e.ClinicID, e.ID, e.URL, string(types), secret, e.Enabled, now.UnixMilli())
			return err
		case err != beckon.ErrNotFound:
			return err
		}
		if e.Secret == "" {
			return fmt.Errorf("store: webhook_endpoint.put: a new endpoint needs its secret: %w", beckon.ErrInvalidData)
		}
		created = true
		_, err = q.exec(ctx, "webhook_endpoint.insert", `
			INSERT INTO webhook_endpoints (`+endpointCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, '', NULL, NULL, $7, $8)`,
			e.ClinicID, e.ID, e.URL, string(types), secret, e.Enabled,
			q.stamp(e.CreatedAt).UnixMilli(), now.UnixMilli())
		return err
	})
	return created, err
}

func (q *queries) WebhookEndpointGet(ctx context.Context, clinicID, id string) (beckon.WebhookEndpoint, error) {
	return get(ctx, q, "webhook_endpoint.get", q.scanEndpoint,
		`SELECT `+endpointCols+` FROM webhook_endpoints WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) WebhookEndpointList(ctx context.Context, clinicID string) ([]beckon.WebhookEndpoint, error) {
	return list(ctx, q, "webhook_endpoint.list", q.scanEndpoint,
		`SELECT `+endpointCols+` FROM webhook_endpoints WHERE clinic_id = $1 ORDER BY id`, clinicID)
}

// WebhookEndpointDelete deletes the endpoint, its deliveries and their
// attempts in one transaction.
func (q *queries) WebhookEndpointDelete(ctx context.Context, clinicID, id string) error {
	return q.atomic(ctx, func(q *queries) error {
		if _, err := q.exec(ctx, "webhook_endpoint.delete_attempts", `
			DELETE FROM webhook_attempts WHERE delivery_id IN (
				SELECT id FROM webhook_deliveries WHERE clinic_id = $1 AND endpoint_id = $2)`,
			clinicID, id); err != nil {
			return err
		}
		if _, err := q.exec(ctx, "webhook_endpoint.delete_deliveries", `
			DELETE FROM webhook_deliveries WHERE clinic_id = $1 AND endpoint_id = $2`, clinicID, id); err != nil {
			return err
		}
		ok, err := q.execOne(ctx, "webhook_endpoint.delete", `
			DELETE FROM webhook_endpoints WHERE clinic_id = $1 AND id = $2`, clinicID, id)
		if err == nil && !ok {
			return beckon.ErrNotFound
		}
		return err
	})
}

// WebhookEndpointDisable disables the endpoint and fails its pending
// deliveries with the reason, in one transaction.
func (q *queries) WebhookEndpointDisable(ctx context.Context, clinicID, id, reason string, at time.Time) (bool, error) {
	var disabled bool
	err := q.atomic(ctx, func(q *queries) error {
		ms := q.stamp(at).UnixMilli()
		var err error
		disabled, err = q.execOne(ctx, "webhook_endpoint.disable", `
			UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $3, disabled_at = $4, updated_at = $4
			WHERE clinic_id = $1 AND id = $2 AND enabled`, clinicID, id, reason, ms)
		if err != nil || !disabled {
			return err
		}
		_, err = q.exec(ctx, "webhook_endpoint.disable_deliveries", `
			UPDATE webhook_deliveries SET status = '`+beckon.DeliveryFailed+`', last_error = $3,
				claimed_at = NULL, updated_at = $4
			WHERE clinic_id = $1 AND endpoint_id = $2 AND status = '`+beckon.DeliveryPending+`'`,
			clinicID, id, reason, ms)
		return err
	})
	return disabled, err
}

func (q *queries) WebhookEndpointHealth(ctx context.Context, clinicID, id string, ok bool, at time.Time) (beckon.WebhookEndpoint, error) {
	if ok {
		return get(ctx, q, "webhook_endpoint.health", q.scanEndpoint, `
			UPDATE webhook_endpoints SET failing_since = NULL WHERE clinic_id = $1 AND id = $2
			RETURNING `+endpointCols, clinicID, id)
	}
	return get(ctx, q, "webhook_endpoint.health", q.scanEndpoint, `
		UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $3)
		WHERE clinic_id = $1 AND id = $2 RETURNING `+endpointCols, clinicID, id, q.stamp(at).UnixMilli())
}
