package store

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/beckonhealth/beckon"
)

// InstallationSecret: insert-if-absent, then read, so that concurrent first
// uses in several processes all end with the one secret stored first.
func (q *queries) InstallationSecret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if name == "" || len(fresh) == 0 {
		return nil, fmt.Errorf("store: secret: no name or value: %w", beckon.ErrInvalidData)
	}
	if _, err := q.exec(ctx, "secret.put", `
		INSERT INTO installation_secrets (name, value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`,
		name, q.seal(secretInstallationSeed, base64.StdEncoding.EncodeToString(fresh), name), q.now().UnixMilli()); err != nil {
		return nil, err
	}
	var v string
	err := q.db.QueryRowContext(ctx, `SELECT value FROM installation_secrets WHERE name = $1`, name).Scan(&v)
	if err != nil {
		return nil, translate("secret.get", err)
	}
	if err := q.open(secretInstallationSeed, &v, name); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("store: secret %s is not base64: %w", name, beckon.ErrInvalidData)
	}
	return b, nil
}

func (q *queries) LinkUseRecord(ctx context.Context, u beckon.LinkUse) (bool, error) {
	if u.ID == "" || u.ClinicID == "" || u.Action == "" {
		return false, fmt.Errorf("store: link_use: no id, clinic or action: %w", beckon.ErrInvalidData)
	}
	return q.execOne(ctx, "link_use.put", `
		INSERT INTO link_uses (id, clinic_id, action, used_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`,
		u.ID, u.ClinicID, u.Action, q.stamp(u.UsedAt).UnixMilli())
}

func (q *queries) LinkUsed(ctx context.Context, clinicID, id string) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM link_uses WHERE clinic_id = $1 AND id = $2`, clinicID, id).Scan(&n)
	return n > 0, translate("link_use.get", err)
}
