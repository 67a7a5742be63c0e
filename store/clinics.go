package store

import (
	"context"

	"github.com/beckonhealth/beckon"
)

// clinicCols are the columns a clinic is written with; clinicReadCols
// adds plan_revision, which only the store sets.
const (
	clinicCols     = `id, name, time_zone, phone, quiet_enabled, quiet_start_minute, quiet_end_minute, created_at, updated_at`
	clinicReadCols = clinicCols + `, plan_revision`
)

func scanClinic(r scanner) (beckon.Clinic, error) {
	var c beckon.Clinic
	err := r.Scan(&c.ID, &c.Name, &c.TimeZone, &c.Phone,
		&c.QuietHours.Enabled, &c.QuietHours.StartMinute, &c.QuietHours.EndMinute,
		ms{&c.CreatedAt}, ms{&c.UpdatedAt}, &c.PlanRevision)
	return c, err
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
	ok, err := q.execOne(ctx, "clinic.create", `
		INSERT INTO clinics (`+clinicCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT DO NOTHING`,
		c.ID, c.Name, c.TimeZone, c.Phone,
		c.QuietHours.Enabled, c.QuietHours.StartMinute, c.QuietHours.EndMinute,
		created.UnixMilli(), orTime(c.UpdatedAt, created).UnixMilli())
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
	ok, err := q.execOne(ctx, "clinic.update", `
		UPDATE clinics SET name = $2, time_zone = $3, phone = $4,
			quiet_enabled = $5, quiet_start_minute = $6, quiet_end_minute = $7,
			updated_at = $8, plan_revision = plan_revision + 1
		WHERE id = $1`,
		c.ID, c.Name, c.TimeZone, c.Phone,
		c.QuietHours.Enabled, c.QuietHours.StartMinute, c.QuietHours.EndMinute,
		q.stamp(c.UpdatedAt).UnixMilli())
	if err == nil && !ok {
		return beckon.ErrNotFound
	}
	return err
}
