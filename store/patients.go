package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/beckonhealth/beckon"
)

const patientCols = `clinic_id, id, first_name, last_name, phone, email, language, time_zone,
	preferred_channel, sms_consent, email_consent, created_at, updated_at`

func scanPatient(r scanner) (beckon.Patient, error) {
	var p beckon.Patient
	err := r.Scan(&p.ClinicID, &p.ID, &p.FirstName, &p.LastName, &p.Phone, &p.Email,
		&p.Language, &p.TimeZone, (*string)(&p.PreferredChannel), &p.SMSConsent, &p.EmailConsent,
		ms{&p.CreatedAt}, ms{&p.UpdatedAt})
	return p, err
}

// patientColCount is the number of columns in patientCols.
const patientColCount = 13

// patientArgs are a patient's values in patientCols order.
func (q *queries) patientArgs(p beckon.Patient) []any {
	created := q.stamp(p.CreatedAt)
	return []any{p.ClinicID, p.ID, p.FirstName, p.LastName, p.Phone, p.Email,
		p.Language, p.TimeZone, string(p.PreferredChannel), p.SMSConsent, p.EmailConsent,
		created.UnixMilli(), orTime(p.UpdatedAt, created).UnixMilli()}
}

// patientValueRows is valueRowsFrom for patients, except that a patient
// whose number the consent ledger knows (sms_consent) takes the number's
// state: a patient written later with an opted-out number is opted out.
func patientValueRows(from, rows int) string {
	var b strings.Builder
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		n := from + i*patientColCount
		arg := func(col int) string { return "$" + strconv.Itoa(n+col) }
		b.WriteString("(" + placeholders(n, 9) + ", COALESCE((SELECT state FROM sms_consent WHERE clinic_id = " +
			arg(0) + " AND phone = " + arg(4) + "), " + arg(9) + "), " + placeholders(n+10, 3) + ")")
	}
	return b.String()
}

// patientUpsertConflict ends an INSERT of patients: a stored patient is
// replaced, CreatedAt kept.
const patientUpsertConflict = `
	ON CONFLICT (clinic_id, id) DO UPDATE SET
		first_name = excluded.first_name, last_name = excluded.last_name,
		phone = excluded.phone, email = excluded.email, language = excluded.language,
		time_zone = excluded.time_zone, preferred_channel = excluded.preferred_channel,
		sms_consent = excluded.sms_consent, email_consent = excluded.email_consent,
		updated_at = excluded.updated_at`

func (q *queries) PatientUpsert(ctx context.Context, p beckon.Patient) error {
	_, err := q.exec(ctx, "patient.upsert", `INSERT INTO patients (`+patientCols+`) VALUES `+
		patientValueRows(1, 1)+patientUpsertConflict, q.patientArgs(p)...)
	return err
}

func (q *queries) PatientGet(ctx context.Context, clinicID, id string) (beckon.Patient, error) {
	return get(ctx, q, "patient.get", scanPatient,
		`SELECT `+patientCols+` FROM patients WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}
