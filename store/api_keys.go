package store

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
)

const apiKeyCols = `id, clinic_id, name, role, hash, prefix, created_at, expires_at, last_used_at, revoked_at`

func scanAPIKey(r scanner) (beckon.APIKey, error) {
	var k beckon.APIKey
	err := r.Scan(&k.ID, &k.ClinicID, &k.Name, &k.Role, &k.Hash, &k.Prefix,
		ms{&k.CreatedAt}, ms{&k.ExpiresAt}, ms{&k.LastUsedAt}, ms{&k.RevokedAt})
	return k, err
}

// APIKeyCreate stores a key (an empty ID gets one); ErrConflict if the id or
// the hash exists.
func (q *queries) APIKeyCreate(ctx context.Context, k beckon.APIKey) error {
	if k.ID == "" {
		k.ID = beckon.NewID("key_")
	}
	ok, err := q.execOne(ctx, "apikey.create", `
		INSERT INTO api_keys (`+apiKeyCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`,
		k.ID, k.ClinicID, k.Name, k.Role, k.Hash, k.Prefix, q.stamp(k.CreatedAt).UnixMilli(),
		msArg(k.ExpiresAt), msArg(k.LastUsedAt), msArg(k.RevokedAt))
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

func (q *queries) APIKeyGetByHash(ctx context.Context, hash string) (beckon.APIKey, error) {
	return get(ctx, q, "apikey.get", scanAPIKey,
		`SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash)
}

func (q *queries) APIKeyGet(ctx context.Context, clinicID, id string) (beckon.APIKey, error) {
	return get(ctx, q, "apikey.get", scanAPIKey,
		`SELECT `+apiKeyCols+` FROM api_keys WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) APIKeyList(ctx context.Context, clinicID string) ([]beckon.APIKey, error) {
	return list(ctx, q, "apikey.list", scanAPIKey,
		`SELECT `+apiKeyCols+` FROM api_keys WHERE clinic_id = $1 ORDER BY created_at, id`, clinicID)
}

func (q *queries) APIKeyRevoke(ctx context.Context, clinicID, id string, at time.Time) (beckon.APIKey, error) {
	_, err := q.exec(ctx, "apikey.revoke", `
		UPDATE api_keys SET revoked_at = $3
		WHERE clinic_id = $1 AND id = $2 AND revoked_at IS NULL`,
		clinicID, id, q.stamp(at).UnixMilli())
	if err != nil {
		return beckon.APIKey{}, err
	}
	return q.APIKeyGet(ctx, clinicID, id)
}

func (q *queries) APIKeyTouch(ctx context.Context, id string, at time.Time) error {
	t := q.stamp(at).UnixMilli()
	_, err := q.exec(ctx, "apikey.touch", `
		UPDATE api_keys SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, t)
	return err
}
