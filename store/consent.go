package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
)

const consentCols = `clinic_id, id, patient_id, phone, email, channel, state, how, text,
	message_id, recorded_by, at`

func scanConsent(r scanner) (beckon.ConsentChange, error) {
	var c beckon.ConsentChange
	err := r.Scan(&c.ClinicID, &c.ID, &c.PatientID, &c.Phone, &c.Email, (*string)(&c.Channel),
		&c.State, &c.How, &c.Text, &c.MessageID, &c.By, ms{&c.At})
	return c, err
}

// consentStates are the states a change may set: a change is a decision,
// never back to unknown.
var consentStates = []string{beckon.ConsentOptedOut, beckon.ConsentOptedIn}

func (q *queries) ConsentRecord(ctx context.Context, c beckon.ConsentChange) (bool, error) {
	switch {
	case c.ClinicID == "" || c.ID == "":
		return false, fmt.Errorf("store: consent.record: no clinic or id: %w", beckon.ErrInvalidData)
	case c.Channel != beckon.ChannelSMS && c.Channel != beckon.ChannelEmail:
		return false, fmt.Errorf("store: consent.record: channel %q: %w", c.Channel, beckon.ErrInvalidData)
	case !slices.Contains(consentStates, c.State):
		return false, fmt.Errorf("store: consent.record: state %q: %w", c.State, beckon.ErrInvalidData)
	}
	at := q.stamp(c.At).UnixMilli()
	now := q.now().UnixMilli()
	applied := false
	err := q.atomic(ctx, func(q *queries) error {
		if err := q.consentAddress(ctx, &c); err != nil {
			return err
		}
		var err error
		applied, err = q.execOne(ctx, "consent.record", `INSERT INTO consent_events (`+consentCols+`, recorded_at)
			VALUES `+valueRows(1, 13)+` ON CONFLICT DO NOTHING`,
			c.ClinicID, c.ID, c.PatientID, c.Phone, c.Email, string(c.Channel), c.State, c.How, c.Text,
			c.MessageID, c.By, at, now)
		if err != nil || !applied {
			return err
		}
		if err := q.consentEvent(ctx, c, at); err != nil {
			return err
		}
		if c.Channel == beckon.ChannelSMS {
			return q.consentProjectPhone(ctx, c, at, now)
		}
		// The email's patients take the state unless the ledger holds a
		// later change of that address (changes recorded out of order).
		_, err = q.exec(ctx, "consent.record", `UPDATE patients SET email_consent = $3, updated_at = $4
			WHERE clinic_id = $1 AND email = $2 AND email_consent <> $3
			AND NOT EXISTS (SELECT 1 FROM consent_events e
				WHERE e.clinic_id = $1 AND e.channel = 'email' AND e.email = $2 AND e.at > $5)`,
			c.ClinicID, c.Email, c.State, now, at)
		return err
	})
	return applied, err
}

// consentEvent records what the clinic's webhook endpoints hear of a
// change (patient.opted_out or patient.opted_in), in the change's
// transaction, whoever made it: a reply, staff, the API, a provider, an
// email link. Its data has ids and how, never the number or address.
func (q *queries) consentEvent(ctx context.Context, c beckon.ConsentChange, at int64) error {
	typ := beckon.EventPatientOptedOut
	if c.State == beckon.ConsentOptedIn {
		typ = beckon.EventPatientOptedIn
	}
	data, err := json.Marshal(map[string]any{
		"patient_id": c.PatientID, "channel": c.Channel, "how": c.How,
		"message_id": c.MessageID, "consent_id": c.ID, "at": time.UnixMilli(at).UTC(),
	})
	if err != nil {
		return err
	}
	return q.EventAppend(ctx, beckon.Event{
		ID: beckon.EventID(c.ClinicID, typ, c.ID), ClinicID: c.ClinicID, Type: typ, Data: data, At: time.UnixMilli(at).UTC(),
	})
}

// consentAddress fills the change's address (its phone for SMS, its email
// for email) from its patient when it names none.
func (q *queries) consentAddress(ctx context.Context, c *beckon.ConsentChange) error {
	addr := &c.Phone
	if c.Channel == beckon.ChannelEmail {
		addr = &c.Email
	}
	if *addr == "" && c.PatientID != "" {
		p, err := q.PatientGet(ctx, c.ClinicID, c.PatientID)
		if err != nil && !errors.Is(err, beckon.ErrNotFound) {
			return err
		}
		*addr = p.Phone
		if c.Channel == beckon.ChannelEmail {
			*addr = p.Email
		}
	}
	if *addr == "" {
		return fmt.Errorf("store: consent.record: no %s address: %w", c.Channel, beckon.ErrInvalidData)
	}
	return nil
}

// consentProjectPhone moves the number's state to the change's unless the
// number holds a later change, then gives every patient of the clinic with
// that number the number's state.
func (q *queries) consentProjectPhone(ctx context.Context, c beckon.ConsentChange, at, now int64) error {
	if _, err := q.exec(ctx, "consent.record", `INSERT INTO sms_consent (clinic_id, phone, state, event_id, at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (clinic_id, phone) DO UPDATE SET
			state = excluded.state, event_id = excluded.event_id, at = excluded.at
		WHERE sms_consent.at <= excluded.at`,
		c.ClinicID, c.Phone, c.State, c.ID, at); err != nil {
		return err
	}
	_, err := q.exec(ctx, "consent.record", `UPDATE patients SET sms_consent = n.state, updated_at = $3
		FROM sms_consent n
		WHERE n.clinic_id = $1 AND n.phone = $2
		AND patients.clinic_id = $1 AND patients.phone = $2 AND patients.phone <> '' AND patients.sms_consent <> n.state`,
		c.ClinicID, c.Phone, now)
	return err
}

func (q *queries) ConsentHistory(ctx context.Context, clinicID, patientID string) ([]beckon.ConsentChange, error) {
	p, err := q.PatientGet(ctx, clinicID, patientID)
	if err != nil && !errors.Is(err, beckon.ErrNotFound) {
		return nil, err
	}
	return list(ctx, q, "consent.history", scanConsent, `SELECT `+consentCols+` FROM consent_events
		WHERE clinic_id = $1 AND (patient_id = $2
			OR (channel = 'sms' AND phone <> '' AND phone = $3)
			OR (channel = 'email' AND email <> '' AND email = $4))
		ORDER BY at, recorded_at, id`, clinicID, patientID, p.Phone, p.Email)
}

func (q *queries) ConsentPhoneState(ctx context.Context, clinicID, phone string) (string, error) {
	var state string
	err := q.db.QueryRowContext(ctx, `SELECT state FROM sms_consent WHERE clinic_id = $1 AND phone = $2`,
		clinicID, phone).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return beckon.ConsentUnknown, nil
	}
	return state, translate("consent.phone_state", err)
}
