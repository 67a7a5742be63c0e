package store

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
)

const confirmationCols = `id, clinic_id, appointment_id, appointment_version, response, by_whom,
	method, note, actor, at`

func scanConfirmation(r scanner) (beckon.Confirmation, error) {
	var c beckon.Confirmation
	err := r.Scan(&c.ID, &c.ClinicID, &c.AppointmentID, &c.AppointmentVersion, &c.Response,
		&c.By, &c.Method, &c.Note, &c.Actor, ms{&c.At})
	return c, err
}

func (q *queries) ConfirmationInsert(ctx context.Context, c beckon.Confirmation) error {
	if c.ID == "" {
		c.ID = beckon.NewID("cnf_")
	}
	_, err := q.exec(ctx, "confirmation.insert", `
		INSERT INTO confirmations (`+confirmationCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.ClinicID, c.AppointmentID, c.AppointmentVersion, c.Response, c.By,
		c.Method, c.Note, c.Actor, q.stamp(c.At).UnixMilli())
	return err
}

func (q *queries) ConfirmationList(ctx context.Context, clinicID, appointmentID string) ([]beckon.Confirmation, error) {
	return list(ctx, q, "confirmation.list", scanConfirmation,
		`SELECT `+confirmationCols+` FROM confirmations WHERE clinic_id = $1 AND appointment_id = $2
		ORDER BY at, id`, clinicID, appointmentID)
}

const writebackCols = `id, clinic_id, appointment_id, confirmation_id, kind, status, attempts,
	last_error, created_at, updated_at`

func scanWriteback(r scanner) (beckon.Writeback, error) {
	var w beckon.Writeback
	err := r.Scan(&w.ID, &w.ClinicID, &w.AppointmentID, &w.ConfirmationID, &w.Kind, &w.Status,
		&w.Attempts, &w.LastError, ms{&w.CreatedAt}, ms{&w.UpdatedAt})
	return w, err
}

func (q *queries) WritebackInsert(ctx context.Context, w beckon.Writeback) error {
	if w.ID == "" {
		w.ID = beckon.NewID("wbk_")
	}
	created := q.stamp(w.CreatedAt)
	_, err := q.exec(ctx, "writeback.insert", `
		INSERT INTO writebacks (`+writebackCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		w.ID, w.ClinicID, w.AppointmentID, w.ConfirmationID, w.Kind, w.Status, w.Attempts,
		w.LastError, created.UnixMilli(), orTime(w.UpdatedAt, created).UnixMilli())
	return err
}

func (q *queries) WritebackGet(ctx context.Context, clinicID, id string) (beckon.Writeback, error) {
	return get(ctx, q, "writeback.get", scanWriteback,
		`SELECT `+writebackCols+` FROM writebacks WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) WritebackUpdate(ctx context.Context, w beckon.Writeback) error {
	ok, err := q.execOne(ctx, "writeback.update", `
		UPDATE writebacks SET status = $2, attempts = $3, last_error = $4, updated_at = $5
		WHERE id = $1 AND clinic_id = $6`, w.ID, w.Status, w.Attempts, w.LastError, q.stamp(w.UpdatedAt).UnixMilli(), w.ClinicID)
	if err == nil && !ok {
		return beckon.ErrNotFound
	}
	return err
}

func (q *queries) WritebackList(ctx context.Context, clinicID, appointmentID string) ([]beckon.Writeback, error) {
	return list(ctx, q, "writeback.list", scanWriteback,
		`SELECT `+writebackCols+` FROM writebacks WHERE clinic_id = $1 AND appointment_id = $2
		ORDER BY created_at, id`, clinicID, appointmentID)
}

func (q *queries) WritebackListPending(ctx context.Context, updatedBefore time.Time, limit int) ([]beckon.Writeback, error) {
	if limit <= 0 {
		limit = 100
	}
	return list(ctx, q, "writeback.list_pending", scanWriteback,
		`SELECT `+writebackCols+` FROM writebacks WHERE status = '`+beckon.WritebackPending+`' AND updated_at < $1
		ORDER BY updated_at, id LIMIT $2`, updatedBefore.UnixMilli(), limit)
}
