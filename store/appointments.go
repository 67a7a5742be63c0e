package store

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
)

const appointmentCols = `clinic_id, id, patient_id, start_at, duration_ms, type, provider, location,
	status, confirmation, version, created_at, updated_at, provider_name, location_name, notes`

func scanAppointment(r scanner) (beckon.Appointment, error) {
	var a beckon.Appointment
	var durationMS int64
	err := r.Scan(&a.ClinicID, &a.ID, &a.PatientID, ms{&a.Start}, &durationMS,
		&a.Type, &a.Provider, &a.Location, (*string)(&a.Status), &a.Confirmation, &a.Version,
		ms{&a.CreatedAt}, ms{&a.UpdatedAt}, &a.ProviderName, &a.LocationName, &a.Notes)
	a.Duration = time.Duration(durationMS) * time.Millisecond
	return a, err
}

func (q *queries) AppointmentGet(ctx context.Context, clinicID, id string) (beckon.Appointment, error) {
	return get(ctx, q, "appointment.get", scanAppointment,
		`SELECT `+appointmentCols+` FROM appointments WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

// AppointmentPut inserts (expectVersion 0) or updates the appointment in one
// conditional statement. Duration is kept to the millisecond.
// appointmentArgs are an appointment's values in appointmentCols order.
func (q *queries) appointmentArgs(a beckon.Appointment) []any {
	created := q.stamp(a.CreatedAt)
	return []any{a.ClinicID, a.ID, a.PatientID, msArg(a.Start), a.Duration.Milliseconds(),
		a.Type, a.Provider, a.Location, string(a.Status), a.Confirmation, a.Version,
		created.UnixMilli(), orTime(a.UpdatedAt, created).UnixMilli(), a.ProviderName, a.LocationName, a.Notes}
}

// appointmentPutConflict ends an INSERT of appointments: a stored one is
// replaced only where its version is the new one minus one (AppointmentPut's
// contract, a.Version = expect + 1), so a row not written is a lost race.
const appointmentPutConflict = `
	ON CONFLICT (clinic_id, id) DO UPDATE SET
		patient_id = excluded.patient_id, start_at = excluded.start_at,
		duration_ms = excluded.duration_ms, type = excluded.type,
		provider = excluded.provider, location = excluded.location,
		provider_name = excluded.provider_name, location_name = excluded.location_name,
		notes = excluded.notes,
		status = excluded.status, confirmation = excluded.confirmation,
		version = excluded.version, updated_at = excluded.updated_at
		WHERE appointments.version = excluded.version - 1`

func (q *queries) AppointmentPut(ctx context.Context, a beckon.Appointment, expectVersion int64) error {
	var (
		ok  bool
		err error
	)
	if expectVersion == 0 {
		ok, err = q.execOne(ctx, "appointment.put", `INSERT INTO appointments (`+appointmentCols+`) VALUES `+
			valueRows(1, appointmentColCount)+` ON CONFLICT DO NOTHING`, q.appointmentArgs(a)...)
	} else {
		ok, err = q.execOne(ctx, "appointment.put", `
			UPDATE appointments SET patient_id = $3, start_at = $4, duration_ms = $5,
				type = $6, provider = $7, location = $8, status = $9, confirmation = $10,
				version = $11, updated_at = $12, provider_name = $14, location_name = $15, notes = $16
			WHERE clinic_id = $1 AND id = $2 AND version = $13`,
			a.ClinicID, a.ID, a.PatientID, msArg(a.Start), a.Duration.Milliseconds(),
			a.Type, a.Provider, a.Location, string(a.Status), a.Confirmation, a.Version,
			q.stamp(a.UpdatedAt).UnixMilli(), expectVersion, a.ProviderName, a.LocationName, a.Notes)
	}
	if err == nil && !ok {
		return beckon.ErrConflict
	}
	return err
}

func (q *queries) AppointmentListUpcoming(ctx context.Context, p beckon.AppointmentListParams) ([]beckon.Appointment, error) {
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
