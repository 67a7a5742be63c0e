package store

import (
	"context"
	"time"
)

const appointmentCols = `clinic_id, id, patient_id, start_at, duration_ms, type, provider, location,
	status, confirmation, version, created_at, updated_at`

func scanAppointment(r scanner) (Appointment, error) {
	var a Appointment
	var durationMS int64
	err := r.Scan(&a.ClinicID, &a.ID, &a.PatientID, ms{&a.Start}, &durationMS,
		&a.Type, &a.Provider, &a.Location, &a.Status, &a.Confirmation, &a.Version,
		ms{&a.CreatedAt}, ms{&a.UpdatedAt})
	a.Duration = time.Duration(durationMS) * time.Millisecond
	return a, err
}

func (q *queries) AppointmentGet(ctx context.Context, clinicID, id string) (Appointment, error) {
	return get(ctx, q, "appointment.get", scanAppointment,
		`SELECT `+appointmentCols+` FROM appointments WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

// AppointmentPut inserts (expectVersion 0) or updates the appointment in one
// conditional statement. Duration is kept to the millisecond.
func (q *queries) AppointmentPut(ctx context.Context, a Appointment, expectVersion int64) error {
	var (
		ok  bool
		err error
	)
	created := stamp(a.CreatedAt)
	if expectVersion == 0 {
		ok, err = q.execOne(ctx, "appointment.put", `
			INSERT INTO appointments (`+appointmentCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT DO NOTHING`,
			a.ClinicID, a.ID, a.PatientID, msArg(a.Start), a.Duration.Milliseconds(),
			a.Type, a.Provider, a.Location, a.Status, a.Confirmation, a.Version,
			created.UnixMilli(), orTime(a.UpdatedAt, created).UnixMilli())
	} else {
		ok, err = q.execOne(ctx, "appointment.put", `
			UPDATE appointments SET patient_id = $3, start_at = $4, duration_ms = $5,
				type = $6, provider = $7, location = $8, status = $9, confirmation = $10,
				version = $11, updated_at = $12
			WHERE clinic_id = $1 AND id = $2 AND version = $13`,
			a.ClinicID, a.ID, a.PatientID, msArg(a.Start), a.Duration.Milliseconds(),
			a.Type, a.Provider, a.Location, a.Status, a.Confirmation, a.Version,
			stamp(a.UpdatedAt).UnixMilli(), expectVersion)
	}
	if err == nil && !ok {
		return ErrConflict
	}
	return err
}

func (q *queries) AppointmentListUpcoming(ctx context.Context, p AppointmentListParams) ([]Appointment, error) {
	var w where
	w.add("clinic_id = ?", p.ClinicID)
	if p.PatientID != "" {
		w.add("patient_id = ?", p.PatientID)
	}
	w.add("start_at > ?", p.After.UnixMilli())
	return list(ctx, q, "appointment.list", scanAppointment,
		`SELECT `+appointmentCols+` FROM appointments`+w.String()+
			` ORDER BY start_at, id`+limitClause(p.Limit), w.args...)
}
