package store

import (
	"context"
	"time"
)

const confirmationCols = `id, clinic_id, appointment_id, appointment_version, response, by_whom,
	method, note, actor, at`

func scanConfirmation(r scanner) (Confirmation, error) {
	var c Confirmation
	err := r.Scan(&c.ID, &c.ClinicID, &c.AppointmentID, &c.AppointmentVersion, &c.Response,
		&c.By, &c.Method, &c.Note, &c.Actor, ms{&c.At})
	return c, err
}

func (q *queries) ConfirmationInsert(ctx context.Context, c Confirmation) error {
	if c.ID == "" {
		c.ID = NewID("cnf_")
	}
	_, err := q.exec(ctx, "confirmation.insert", `
		INSERT INTO confirmations (`+confirmationCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.ClinicID, c.AppointmentID, c.AppointmentVersion, c.Response, c.By,
		c.Method, c.Note, c.Actor, q.stamp(c.At).UnixMilli())
	return err
}

func (q *queries) ConfirmationList(ctx context.Context, clinicID, appointmentID string) ([]Confirmation, error) {
	return list(ctx, q, "confirmation.list", scanConfirmation,
		`SELECT `+confirmationCols+` FROM confirmations WHERE clinic_id = $1 AND appointment_id = $2
		ORDER BY at, id`, clinicID, appointmentID)
}

const writebackCols = `id, clinic_id, appointment_id, confirmation_id, kind, status, attempts,
	last_error, created_at, updated_at`

func scanWriteback(r scanner) (Writeback, error) {
	var w Writeback
	err := r.Scan(&w.ID, &w.ClinicID, &w.AppointmentID, &w.ConfirmationID, &w.Kind, &w.Status,
		&w.Attempts, &w.LastError, ms{&w.CreatedAt}, ms{&w.UpdatedAt})
	return w, err
}

func (q *queries) WritebackInsert(ctx context.Context, w Writeback) error {
	if w.ID == "" {
		w.ID = NewID("wbk_")
	}
	created := q.stamp(w.CreatedAt)
	_, err := q.exec(ctx, "writeback.insert", `
		INSERT INTO writebacks (`+writebackCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		w.ID, w.ClinicID, w.AppointmentID, w.ConfirmationID, w.Kind, w.Status, w.Attempts,
		w.LastError, created.UnixMilli(), orTime(w.UpdatedAt, created).UnixMilli())
	return err
}

func (q *queries) WritebackGet(ctx context.Context, clinicID, id string) (Writeback, error) {
	return get(ctx, q, "writeback.get", scanWriteback,
		`SELECT `+writebackCols+` FROM writebacks WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) WritebackUpdate(ctx context.Context, w Writeback) error {
	ok, err := q.execOne(ctx, "writeback.update", `
		UPDATE writebacks SET status = $2, attempts = $3, last_error = $4, updated_at = $5
		WHERE id = $1 AND clinic_id = $6`, w.ID, w.Status, w.Attempts, w.LastError, q.stamp(w.UpdatedAt).UnixMilli(), w.ClinicID)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

func (q *queries) WritebackList(ctx context.Context, clinicID, appointmentID string) ([]Writeback, error) {
	return list(ctx, q, "writeback.list", scanWriteback,
		`SELECT `+writebackCols+` FROM writebacks WHERE clinic_id = $1 AND appointment_id = $2
		ORDER BY created_at, id`, clinicID, appointmentID)
}

func (q *queries) WritebackListPending(ctx context.Context, updatedBefore time.Time, limit int) ([]Writeback, error) {
	if limit <= 0 {
		limit = 100
	}
	return list(ctx, q, "writeback.list_pending", scanWriteback,
		`SELECT `+writebackCols+` FROM writebacks WHERE status = '`+WritebackPending+`' AND updated_at < $1
		ORDER BY updated_at, id LIMIT $2`, updatedBefore.UnixMilli(), limit)
}
