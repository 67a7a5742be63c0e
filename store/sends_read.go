package store

import (
	"context"
	"strings"

	"github.com/beckonhealth/beckon"
)

// sendReadFrom joins a send to its appointment, patient, campaign and the
// patient's number's SMS consent, each in the send's clinic; the tables'
// columns keep their order (sendCols, appointmentCols, patientCols, then the
// campaign's revision, active and updated_at, then the number's state).
var sendReadFrom = `SELECT ` + qualified("s", sendCols) + `, ` + qualified("a", appointmentCols) + `, ` +
	qualified("p", patientCols) + `, c.revision, c.active, c.updated_at, n.state
	FROM sends s
	LEFT JOIN appointments a ON a.clinic_id = s.clinic_id AND a.id = s.appointment_id
	LEFT JOIN patients p ON p.clinic_id = s.clinic_id AND p.id = s.patient_id
	LEFT JOIN campaigns c ON c.clinic_id = s.clinic_id AND c.id = s.campaign_id
	LEFT JOIN sms_consent n ON n.clinic_id = s.clinic_id AND n.phone = p.phone`

// qualified prefixes each column of a column list with alias.
func qualified(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// SendReadMany reads the clinic's sends among ids with their appointments,
// patients and campaigns' revisions, in one statement per batchChunk ids
// (where SendGetMany, AppointmentGetMany, PatientGetMany and CampaignGet
// took four).
func (q *queries) SendReadMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.SendRead, error) {
	out := make(map[string]beckon.SendRead, len(ids))
	err := chunks(ids, batchChunk, func(part []string) error {
		var w where
		w.add("s.clinic_id = ?", clinicID)
		w.add("s.id IN " + inList(&w, part))
		rows, err := q.db.QueryContext(ctx, sendReadFrom+w.String(), w.args...)
		if err != nil {
			return translate("send.read_many", err)
		}
		defer rows.Close()
		const width = sendColCount + appointmentColCount + patientColCount + 4
		vals, ptrs := rawRow(width)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return translate("send.read_many", err)
			}
			r, err := scanSendRead(vals)
			if err != nil {
				return translate("send.read_many", err)
			}
			out[r.Send.ID] = r
		}
		return translate("send.read_many", rows.Err())
	})
	return out, err
}

// scanSendRead splits a row of sendReadFrom; a joined row that is all NULL
// is one that does not exist.
func scanSendRead(vals []any) (beckon.SendRead, error) {
	var r beckon.SendRead
	var err error
	if r.Send, err = scanSend(valueRow(vals[:sendColCount])); err != nil {
		return r, err
	}
	vals = vals[sendColCount:]
	if vals[1] != nil { // appointments.id
		a, err := scanAppointment(valueRow(vals[:appointmentColCount]))
		if err != nil {
			return r, err
		}
		r.Appointment = &a
	}
	vals = vals[appointmentColCount:]
	if vals[1] != nil { // patients.id
		p, err := scanPatient(valueRow(vals[:patientColCount]))
		if err != nil {
			return r, err
		}
		r.Patient = &p
	}
	vals = vals[patientColCount:]
	if vals[0] != nil {
		if err := valueRow(vals[:3]).Scan(&r.CampaignRevision, &r.CampaignActive, ms{&r.CampaignUpdatedAt}); err != nil {
			return r, err
		}
	}
	if vals[3] != nil {
		if err := valueRow(vals[3:]).Scan(&r.PhoneConsent); err != nil {
			return r, err
		}
	}
	return r, nil
}
