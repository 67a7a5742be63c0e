package store

import (
	"context"
)

// FeedBatchQuerier holds the set-at-a-time queries that let the feeds apply
// the messages arriving together (on several MLLP connections) in one
// transaction of a few statements instead of several per message.
type FeedBatchQuerier interface {
	// FeedStateGetMany returns the feed state of the clinic's appointments
	// among ids, by appointment id (absent: nothing applied yet).
	FeedStateGetMany(ctx context.Context, clinicID string, appointmentIDs []string) (map[string]FeedState, error)
	// FeedStatePutMany inserts or replaces each state, as FeedStatePut does;
	// an appointment must appear at most once.
	FeedStatePutMany(ctx context.Context, states []FeedState) error
	// PatientUpsertMany inserts or replaces each patient, as PatientUpsert
	// does; a patient must appear at most once.
	PatientUpsertMany(ctx context.Context, ps []Patient) error
	// InboundInsertMany archives the messages, as InboundInsert does.
	InboundInsertMany(ctx context.Context, ms []InboundMessage) error
}

func (q *queries) FeedStateGetMany(ctx context.Context, clinicID string, ids []string) (map[string]FeedState, error) {
	out := make(map[string]FeedState, len(ids))
	err := chunks(ids, batchChunk, func(part []string) error {
		var w where
		w.add("clinic_id = ?", clinicID)
		w.add("appointment_id IN " + inList(&w, part))
		ss, err := list(ctx, q, "feed_state.get_many", scanFeedState,
			`SELECT `+feedStateCols+` FROM feed_state`+w.String(), w.args...)
		for _, s := range ss {
			out[s.AppointmentID] = s
		}
		return err
	})
	return out, err
}

// feedStateColCount is the number of columns in feedStateCols.
const feedStateColCount = 8

func (q *queries) FeedStatePutMany(ctx context.Context, states []FeedState) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(states, batchChunk, func(part []FeedState) error {
			args := make([]any, 0, len(part)*feedStateColCount)
			for _, s := range part {
				args = append(args, s.ClinicID, s.AppointmentID, msArg(s.SourceAt), s.SourceVersion, s.Digest,
					s.Tombstone, s.EHRVersion, stamp(s.UpdatedAt).UnixMilli())
			}
			_, err := q.exec(ctx, "feed_state.put_many", `
				INSERT INTO feed_state (`+feedStateCols+`)
				VALUES `+valueRows(len(part), feedStateColCount)+`
				ON CONFLICT (clinic_id, appointment_id) DO UPDATE SET
					source_at = excluded.source_at,
					source_version = excluded.source_version,
					digest = excluded.digest,
					tombstone = excluded.tombstone,
					ehr_version = excluded.ehr_version,
					updated_at = excluded.updated_at`, args...)
			return err
		})
	})
}

// patientColCount is the number of columns in patientCols.
const patientColCount = 13

func (q *queries) PatientUpsertMany(ctx context.Context, ps []Patient) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(ps, batchChunk/2, func(part []Patient) error {
			args := make([]any, 0, len(part)*patientColCount)
			for _, p := range part {
				created := stamp(p.CreatedAt)
				args = append(args, p.ClinicID, p.ID, p.FirstName, p.LastName, p.Phone, p.Email,
					p.Language, p.TimeZone, p.PreferredChannel, p.SMSConsent, p.EmailConsent,
					created.UnixMilli(), orTime(p.UpdatedAt, created).UnixMilli())
			}
			_, err := q.exec(ctx, "patient.upsert_many", `
				INSERT INTO patients (`+patientCols+`)
				VALUES `+valueRows(len(part), patientColCount)+`
				ON CONFLICT (clinic_id, id) DO UPDATE SET
					first_name = excluded.first_name,
					last_name = excluded.last_name,
					phone = excluded.phone,
					email = excluded.email,
					language = excluded.language,
					time_zone = excluded.time_zone,
					preferred_channel = excluded.preferred_channel,
					sms_consent = excluded.sms_consent,
					email_consent = excluded.email_consent,
					updated_at = excluded.updated_at`, args...)
			return err
		})
	})
}

// inboundColCount is the number of columns in inboundCols.
const inboundColCount = 12

func (q *queries) InboundInsertMany(ctx context.Context, ms []InboundMessage) error {
	return q.atomic(ctx, func(q *queries) error {
		return chunks(ms, batchChunk/4, func(part []InboundMessage) error {
			args := make([]any, 0, len(part)*inboundColCount)
			for _, m := range part {
				if m.ID == "" {
					m.ID = NewID("inb_")
				}
				args = append(args, m.ID, m.ClinicID, m.Transport, m.Format, m.ControlID, m.Digest, m.Body, m.Outcome,
					m.Result, m.Detail, m.AppointmentID, stamp(m.ReceivedAt).UnixMilli())
			}
			_, err := q.exec(ctx, "inbound.insert_many",
				`INSERT INTO inbound_messages (`+inboundCols+`) VALUES `+valueRows(len(part), inboundColCount), args...)
			return err
		})
	})
}
