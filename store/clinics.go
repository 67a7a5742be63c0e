package store

import (
	"context"
	"encoding/json"

	"github.com/beckonhealth/beckon"
)

// clinicCols are the columns a clinic is written with; clinicReadCols
// adds plan_revision, which only the store sets.
const (
	clinicCols     = `id, name, time_zone, phone, quiet_enabled, quiet_start_minute, quiet_end_minute, created_at, updated_at, inbox_hours`
	clinicReadCols = clinicCols + `, plan_revision`
)

func scanClinic(r scanner) (beckon.Clinic, error) {
	var c beckon.Clinic
	var inbox string
	err := r.Scan(&c.ID, &c.Name, &c.TimeZone, &c.Phone,
		&c.QuietHours.Enabled, &c.QuietHours.StartMinute, &c.QuietHours.EndMinute,
		ms{&c.CreatedAt}, ms{&c.UpdatedAt}, &inbox, &c.PlanRevision)
	if err == nil && inbox != "" {
		err = json.Unmarshal([]byte(inbox), &c.InboxHours)
	}
	return c, err
}

// inboxHours is a clinic's InboxHours as stored: a JSON object, or empty.
func inboxHours(c beckon.Clinic) (string, error) {
	if len(c.InboxHours) == 0 {
		return "", nil
	}
	b, err := json.Marshal(c.InboxHours)
	return string(b), err
}

// bumpPlanRevision marks a change to what planning reads of the clinic
// (part of the caller's transaction).
func (q *queries) bumpPlanRevision(ctx context.Context, op, clinicID string) error {
	_, err := q.exec(ctx, op, `UPDATE clinics SET plan_revision = plan_revision + 1 WHERE id = $1`, clinicID)
	return err
}

// ClinicCreate inserts a clinic; ErrConflict if the id exists.
func (q *queries) ClinicCreate(ctx context.Context, c beckon.Clinic) error {
	created := q.stamp(c.CreatedAt)
	inbox, err := inboxHours(c)
	if err != nil {
		return err
	}
	ok, err := q.execOne(ctx, "clinic.create", `
		INSERT INTO clinics (`+clinicCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`,
		c.ID, c.Name, c.TimeZone, c.Phone,
		c.QuietHours.Enabled, c.QuietHours.StartMinute, c.QuietHours.EndMinute,
		created.UnixMilli(), orTime(c.UpdatedAt, created).UnixMilli(), inbox)
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

func (q *queries) ClinicGet(ctx context.Context, id string) (beckon.Clinic, error) {
	return get(ctx, q, "clinic.get", scanClinic,
		`SELECT `+clinicReadCols+` FROM clinics WHERE id = $1`, id)
}

// ClinicList lists every clinic by id.
func (q *queries) ClinicList(ctx context.Context) ([]beckon.Clinic, error) {
	return list(ctx, q, "clinic.list", scanClinic,
		`SELECT `+clinicReadCols+` FROM clinics ORDER BY id`)
}

// ClinicUpdate replaces the clinic's fields but CreatedAt and bumps its
// PlanRevision (planning reads every field); ErrNotFound if it does not
// exist.
func (q *queries) ClinicUpdate(ctx context.Context, c beckon.Clinic) error {
	inbox, err := inboxHours(c)
	if err != nil {
		return err
	}
	ok, err := q.execOne(ctx, "clinic.update", `
		UPDATE clinics SET name = $2, time_zone = $3, phone = $4,
			quiet_enabled = $5, quiet_start_minute = $6, quiet_end_minute = $7,
			updated_at = $8, inbox_hours = $9, plan_revision = plan_revision + 1
		WHERE id = $1`,
		c.ID, c.Name, c.TimeZone, c.Phone,
		c.QuietHours.Enabled, c.QuietHours.StartMinute, c.QuietHours.EndMinute,
		q.stamp(c.UpdatedAt).UnixMilli(), inbox)
	if err == nil && !ok {
		return beckon.ErrNotFound
	}
	return err
}

const apiKeyCols = `id, clinic_id, name, role, hash, created_at`

func scanAPIKey(r scanner) (beckon.APIKey, error) {
	var k beckon.APIKey
	err := r.Scan(&k.ID, &k.ClinicID, &k.Name, &k.Role, &k.Hash, ms{&k.CreatedAt})
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
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		k.ID, k.ClinicID, k.Name, k.Role, k.Hash, q.stamp(k.CreatedAt).UnixMilli())
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

func (q *queries) APIKeyGetByHash(ctx context.Context, hash string) (beckon.APIKey, error) {
	return get(ctx, q, "apikey.get", scanAPIKey,
		`SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash)
}
