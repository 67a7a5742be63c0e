package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
)

const inboundSMSCols = `id, clinic_id, patient_id, channel, provider, provider_id, from_addr, to_addr, body,
	opt_out_type, num_segments, num_media, received_at, queued_at, interpreted_at, intent, interpretation,
	needs_attention, handled_by, handled_at`

func scanInboundSMS(r scanner) (beckon.InboundSMS, error) {
	var (
		m      beckon.InboundSMS
		detail string
	)
	err := r.Scan(&m.ID, &m.ClinicID, &m.PatientID, (*string)(&m.Channel), &m.Provider, &m.ProviderID,
		&m.From, &m.To, &m.Body, &m.OptOutType, &m.NumSegments, &m.NumMedia, ms{&m.ReceivedAt}, ms{&m.QueuedAt},
		ms{&m.InterpretedAt}, &m.Intent, &detail, &m.NeedsAttention, &m.HandledBy, ms{&m.HandledAt})
	if detail != "" {
		m.Interpretation = []byte(detail)
	}
	return m, err
}

// InboundSMSPut is InboundSMSPutMany of one message.
func (q *queries) InboundSMSPut(ctx context.Context, m beckon.InboundSMS) (beckon.InboundSMS, bool, error) {
	got, err := q.InboundSMSPutMany(ctx, []beckon.InboundSMS{m}, false)
	if err != nil {
		return beckon.InboundSMS{}, false, err
	}
	return got[0].Stored, got[0].Created, nil
}

// inboundSMSInsertCols are the columns a new message sets (the rest start
// empty).
const inboundSMSInsertCols = `id, clinic_id, patient_id, channel, provider, provider_id, from_addr, to_addr, body,
	opt_out_type, num_segments, num_media, received_at, queued_at`

const inboundSMSInsertColCount = 14

// InboundSMSPutMany inserts the new messages in one statement (RETURNING
// the ones it inserted), reads the ones stored before in another, and
// writes the new ones' message log entries in a third, in one transaction.
func (q *queries) InboundSMSPutMany(ctx context.Context, ms []beckon.InboundSMS, findPatients bool) ([]beckon.InboundSMSPutResult, error) {
	ms = slices.Clone(ms)
	out := make([]beckon.InboundSMSPutResult, len(ms))
	type key struct{ provider, id string }
	first := map[key]int{} // a message's first index in ms
	var fresh []beckon.InboundSMS
	for i, m := range ms {
		if m.Provider == "" || m.ProviderID == "" {
			return nil, errors.New("store: inbound_sms.put: provider and provider id are required")
		}
		k := key{m.Provider, m.ProviderID}
		if _, ok := first[k]; ok {
			continue
		}
		first[k] = i
		m.ID = cmp.Or(m.ID, beckon.NewID("msg_"))
		m.Channel = cmp.Or(m.Channel, beckon.ChannelSMS)
		m.ReceivedAt = q.stamp(m.ReceivedAt)
		m.QueuedAt = orTime(m.QueuedAt, m.ReceivedAt)
		ms[i] = m
		fresh = append(fresh, m)
	}
	err := q.atomic(ctx, func(q *queries) error {
		if findPatients {
			if err := q.inboundPatients(ctx, fresh); err != nil {
				return err
			}
		}
		created := map[string]bool{}
		err := chunks(fresh, batchChunk, func(part []beckon.InboundSMS) error {
			args := make([]any, 0, len(part)*inboundSMSInsertColCount)
			for _, m := range part {
				args = append(args, m.ID, m.ClinicID, m.PatientID, string(m.Channel), m.Provider, m.ProviderID, m.From, m.To,
					m.Body, m.OptOutType, m.NumSegments, m.NumMedia, m.ReceivedAt.UnixMilli(), m.QueuedAt.UnixMilli())
			}
			ids, err := list(ctx, q, "inbound_sms.put", scanString, `INSERT INTO inbound_sms (`+inboundSMSInsertCols+`)
				VALUES `+valueRows(len(part), inboundSMSInsertColCount)+`
				ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id`, args...)
			for _, id := range ids {
				created[id] = true
			}
			return err
		})
		if err != nil {
			return err
		}
		var logged []beckon.Message
		existing := map[string][]string{} // provider → provider ids stored before
		for _, m := range fresh {
			if !created[m.ID] {
				existing[m.Provider] = append(existing[m.Provider], m.ProviderID)
				continue
			}
			out[first[key{m.Provider, m.ProviderID}]] = beckon.InboundSMSPutResult{Stored: m, Created: true}
			if m.ClinicID != "" {
				logged = append(logged, beckon.Message{
					ID: m.ID, ClinicID: m.ClinicID, PatientID: m.PatientID, Direction: beckon.Inbound, Channel: m.Channel,
					To: m.To, From: m.From, Body: m.Body, Status: beckon.MessageReceived, Provider: m.Provider,
					ProviderID: m.ProviderID, CreatedAt: m.ReceivedAt, UpdatedAt: m.ReceivedAt,
				})
			}
		}
		for provider, ids := range existing {
			err := chunks(ids, batchChunk, func(part []string) error {
				var w where
				w.add("provider = ?", provider)
				w.add("provider_id IN " + inList(&w, part))
				got, err := list(ctx, q, "inbound_sms.put_existing", scanInboundSMS,
					`SELECT `+inboundSMSCols+` FROM inbound_sms`+w.String(), w.args...)
				for _, m := range got {
					if i, ok := first[key{m.Provider, m.ProviderID}]; ok {
						out[i] = beckon.InboundSMSPutResult{Stored: m}
					}
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return chunks(logged, batchChunk, func(part []beckon.Message) error {
			args := make([]any, 0, len(part)*messageColCount)
			for _, m := range part {
				args = append(args, q.messageArgs(m)...)
			}
			_, err := q.exec(ctx, "inbound_sms.put_message", `INSERT INTO messages (`+messageCols+`) VALUES `+
				valueRows(len(part), messageColCount), args...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	// A message twice in ms: the later ones are what the first became,
	// stored before.
	for i, m := range ms {
		j := first[key{m.Provider, m.ProviderID}]
		if j != i {
			out[i] = beckon.InboundSMSPutResult{Stored: out[j].Stored}
		}
		if out[i].Stored.ID == "" {
			return nil, fmt.Errorf("store: inbound_sms.put: message %d neither inserted nor found", i)
		}
	}
	return out, nil
}

// inboundPatients sets the patient of each message of a clinic without
// one: the one patient of the clinic with its number (none when several
// have it), a statement per clinic.
func (q *queries) inboundPatients(ctx context.Context, ms []beckon.InboundSMS) error {
	phones := map[string][]string{} // clinic → numbers
	for _, m := range ms {
		if m.ClinicID != "" && m.From != "" && m.PatientID == "" {
			phones[m.ClinicID] = append(phones[m.ClinicID], m.From)
		}
	}
	type owner struct{ clinic, phone string }
	owners := map[owner][]string{}
	for clinic, nums := range phones {
		err := chunks(nums, batchChunk, func(part []string) error {
			var w where
			w.add("clinic_id = ?", clinic)
			w.add("phone IN " + inList(&w, part))
			w.add("phone <> ''")
			rows, err := list(ctx, q, "patient.list_by_phones", scanPair, `SELECT phone, id FROM patients`+w.String(), w.args...)
			for _, r := range rows {
				k := owner{clinic, r[0]}
				owners[k] = append(owners[k], r[1])
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	for i, m := range ms {
		if ids := owners[owner{m.ClinicID, m.From}]; m.PatientID == "" && len(ids) == 1 {
			ms[i].PatientID = ids[0]
		}
	}
	return nil
}

func scanPair(r scanner) ([2]string, error) {
	var p [2]string
	return p, r.Scan(&p[0], &p[1])
}

func (q *queries) InboundSMSGet(ctx context.Context, clinicID, id string) (beckon.InboundSMS, error) {
	return get(ctx, q, "inbound_sms.get", scanInboundSMS,
		`SELECT `+inboundSMSCols+` FROM inbound_sms WHERE clinic_id = $1 AND id = $2`, clinicID, id)
}

func (q *queries) InboundSMSGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.InboundSMS, error) {
	out := make(map[string]beckon.InboundSMS, len(ids))
	err := chunks(ids, idChunk, func(part []string) error {
		var w where
		w.add("clinic_id = ?", clinicID)
		w.add("id IN " + inList(&w, part))
		got, err := list(ctx, q, "inbound_sms.get_many", scanInboundSMS, `SELECT `+inboundSMSCols+` FROM inbound_sms`+w.String(), w.args...)
		for _, m := range got {
			out[m.ID] = m
		}
		return err
	})
	return out, err
}

func (q *queries) InboundSMSInterpreted(ctx context.Context, p beckon.InboundInterpretParams) (bool, error) {
	return q.execOne(ctx, "inbound_sms.interpreted", `
		UPDATE inbound_sms SET interpreted_at = $3, intent = $4, interpretation = $5, needs_attention = $6
		WHERE clinic_id = $1 AND id = $2 AND interpreted_at IS NULL`,
		p.ClinicID, p.ID, q.stamp(p.At).UnixMilli(), p.Intent, string(p.Interpretation), p.NeedsAttention)
}

func (q *queries) InboundSMSListPending(ctx context.Context, queuedBefore time.Time, limit int) ([]beckon.InboundSMS, error) {
	return list(ctx, q, "inbound_sms.list_pending", scanInboundSMS, `
		SELECT `+inboundSMSCols+` FROM inbound_sms
		WHERE interpreted_at IS NULL AND queued_at < $1
		ORDER BY queued_at, id LIMIT $2`, queuedBefore.UnixMilli(), cmp.Or(max(limit, 0), defaultListLimit))
}

func (q *queries) InboundSMSMarkQueued(ctx context.Context, ids []string, at time.Time) error {
	return chunks(ids, idChunk, func(part []string) error {
		var w where
		ts := w.arg(at.UnixMilli())
		w.add("interpreted_at IS NULL")
		w.add("id IN " + inList(&w, part))
		_, err := q.exec(ctx, "inbound_sms.mark_queued", `UPDATE inbound_sms SET queued_at = `+ts+w.String(), w.args...)
		return err
	})
}

func (q *queries) InboundSMSListNeedsAttention(ctx context.Context, clinicID string, limit int) ([]beckon.InboundSMS, error) {
	return list(ctx, q, "inbound_sms.list_attention", scanInboundSMS, `
		SELECT `+inboundSMSCols+` FROM inbound_sms
		WHERE clinic_id = $1 AND needs_attention AND handled_at IS NULL
		ORDER BY received_at DESC, id DESC LIMIT $2`, clinicID, cmp.Or(max(limit, 0), defaultListLimit))
}

func (q *queries) InboundSMSHandled(ctx context.Context, clinicID, id, by string, at time.Time) (beckon.InboundSMS, error) {
	if _, err := q.exec(ctx, "inbound_sms.handled", `
		UPDATE inbound_sms SET handled_by = $3, handled_at = $4
		WHERE clinic_id = $1 AND id = $2 AND handled_at IS NULL`,
		clinicID, id, by, q.stamp(at).UnixMilli()); err != nil {
		return beckon.InboundSMS{}, err
	}
	return q.InboundSMSGet(ctx, clinicID, id)
}

func (q *queries) InboundSMSLastFrom(ctx context.Context, clinicID, patientID string) (time.Time, error) {
	var at time.Time
	err := q.db.QueryRowContext(ctx, `
		SELECT MAX(received_at) FROM inbound_sms WHERE clinic_id = $1 AND patient_id = $2`,
		clinicID, patientID).Scan(ms{&at})
	return at, translate("inbound_sms.last_from", err)
}

// ClinicBySender matches either sender: a clinic is found by its number or
// by its messaging service (both indexed).
func (q *queries) ClinicBySender(ctx context.Context, from, messagingServiceSID string) ([]string, error) {
	if from == "" && messagingServiceSID == "" {
		return nil, nil
	}
	return list(ctx, q, "clinic.by_sender", scanString, `
		SELECT clinic_id FROM channel_settings WHERE twilio_from = $1 AND $1 <> ''
		UNION
		SELECT clinic_id FROM channel_settings WHERE twilio_messaging_service_sid = $2 AND $2 <> ''
		ORDER BY clinic_id`, from, messagingServiceSID)
}

func (q *queries) ClinicListWithoutTwilioAccount(ctx context.Context) ([]string, error) {
	return list(ctx, q, "clinic.without_twilio_account", scanString, `
		SELECT c.id FROM clinics c LEFT JOIN channel_settings s ON s.clinic_id = c.id
		WHERE COALESCE(s.twilio_account_sid, '') = ''
		ORDER BY c.id LIMIT 2`)
}

// PatientListByPhone finds the number's patients through patients_phone:
// the index is partial (only non-empty numbers), and ordering by an expression keeps
// SQLite, which has no statistics, from walking the clinic's patients in
// id order instead. The empty number finds no patient.
func (q *queries) PatientListByPhone(ctx context.Context, clinicID, phone string, limit int) ([]string, error) {
	return list(ctx, q, "patient.list_by_phone", scanString, `
		SELECT id FROM patients WHERE clinic_id = $1 AND phone = $2 AND phone <> '' ORDER BY id || '' LIMIT $3`,
		clinicID, phone, cmp.Or(max(limit, 0), defaultListLimit))
}

func scanString(r scanner) (string, error) {
	var s string
	return s, r.Scan(&s)
}
