package store

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/beckonhealth/beckon"
)

const feedStateCols = `clinic_id, appointment_id, source_at, source_version, digest, tombstone,
	ehr_version, updated_at`

func scanFeedState(r scanner) (beckon.FeedState, error) {
	var s beckon.FeedState
	err := r.Scan(&s.ClinicID, &s.AppointmentID, ms{&s.SourceAt}, &s.SourceVersion, &s.Digest,
		&s.Tombstone, &s.EHRVersion, ms{&s.UpdatedAt})
	return s, err
}

func (q *queries) FeedStateGet(ctx context.Context, clinicID, appointmentID string) (beckon.FeedState, error) {
	return get(ctx, q, "feed_state.get", scanFeedState,
		`SELECT `+feedStateCols+` FROM feed_state WHERE clinic_id = $1 AND appointment_id = $2`,
		clinicID, appointmentID)
}

// feedStateColCount is the number of columns in feedStateCols.
const feedStateColCount = 8

// feedStateArgs are a feed state's values in feedStateCols order.
func (q *queries) feedStateArgs(s beckon.FeedState) []any {
	return []any{s.ClinicID, s.AppointmentID, msArg(s.SourceAt), s.SourceVersion, s.Digest,
		s.Tombstone, s.EHRVersion, q.stamp(s.UpdatedAt).UnixMilli()}
}

// feedStateUpsertConflict ends an INSERT of feed states: a stored one is replaced.
const feedStateUpsertConflict = `
	ON CONFLICT (clinic_id, appointment_id) DO UPDATE SET
		source_at = excluded.source_at, source_version = excluded.source_version,
		digest = excluded.digest, tombstone = excluded.tombstone,
		ehr_version = excluded.ehr_version, updated_at = excluded.updated_at`

func (q *queries) FeedStatePut(ctx context.Context, s beckon.FeedState) error {
	_, err := q.exec(ctx, "feed_state.put", `INSERT INTO feed_state (`+feedStateCols+`) VALUES `+
		valueRows(1, feedStateColCount)+feedStateUpsertConflict, q.feedStateArgs(s)...)
	return err
}

const feedSettingsCols = `clinic_id, fhir_base_url, fhir_auth_header, webhook_url, webhook_secret,
	writeback, updated_at`

// scanFeedSettings reads a row and opens its secrets.
func (q *queries) scanFeedSettings(r scanner) (beckon.FeedSettings, error) {
	var s beckon.FeedSettings
	err := r.Scan(&s.ClinicID, &s.FHIRBaseURL, &s.FHIRAuthHeader, &s.WebhookURL, &s.WebhookSecret,
		&s.Writeback, ms{&s.UpdatedAt})
	if err != nil {
		return s, err
	}
	return s, errors.Join(
		q.open(secretFHIRAuthHeader, &s.FHIRAuthHeader, s.ClinicID),
		q.open(secretFeedHookSecret, &s.WebhookSecret, s.ClinicID))
}

func (q *queries) FeedSettingsGet(ctx context.Context, clinicID string) (beckon.FeedSettings, error) {
	s, err := get(ctx, q, "feed_settings.get", q.scanFeedSettings,
		`SELECT `+feedSettingsCols+` FROM feed_settings WHERE clinic_id = $1`, clinicID)
	if err != nil {
		return s, err
	}
	s.Facilities, err = list(ctx, q, "feed_settings.get", func(r scanner) (string, error) {
		var f string
		return f, r.Scan(&f)
	}, `SELECT facility FROM feed_facilities WHERE clinic_id = $1 ORDER BY facility`, clinicID)
	if s.Facilities == nil {
		s.Facilities = []string{}
	}
	return s, err
}

func (q *queries) FeedSettingsPut(ctx context.Context, s beckon.FeedSettings) error {
	return q.atomic(ctx, func(q *queries) error {
		if _, err := q.exec(ctx, "feed_settings.put", `
			INSERT INTO feed_settings (`+feedSettingsCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (clinic_id) DO UPDATE SET
				fhir_base_url = excluded.fhir_base_url,
				fhir_auth_header = excluded.fhir_auth_header,
				webhook_url = excluded.webhook_url,
				webhook_secret = excluded.webhook_secret,
				writeback = excluded.writeback,
				updated_at = excluded.updated_at`,
			s.ClinicID, s.FHIRBaseURL, q.seal(secretFHIRAuthHeader, s.FHIRAuthHeader, s.ClinicID),
			s.WebhookURL, q.seal(secretFeedHookSecret, s.WebhookSecret, s.ClinicID), s.Writeback, q.stamp(s.UpdatedAt).UnixMilli()); err != nil {
			return err
		}
		if _, err := q.exec(ctx, "feed_settings.put", `DELETE FROM feed_facilities WHERE clinic_id = $1`, s.ClinicID); err != nil {
			return err
		}
		fs := append([]string(nil), s.Facilities...)
		sort.Strings(fs)
		for i, f := range fs {
			f = strings.TrimSpace(f)
			if f == "" || (i > 0 && f == fs[i-1]) {
				continue
			}
			if _, err := q.exec(ctx, "feed_settings.put", `INSERT INTO feed_facilities (facility, clinic_id) VALUES ($1, $2)`, f, s.ClinicID); err != nil {
				if errors.Is(err, beckon.ErrConflict) {
					return beckon.ErrConflict
				}
				return err
			}
		}
		return nil
	})
}

func (q *queries) FeedClinicByFacility(ctx context.Context, facility string) (string, error) {
	return get(ctx, q, "feed_facility.get", func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT clinic_id FROM feed_facilities WHERE facility = $1`, facility)
}
