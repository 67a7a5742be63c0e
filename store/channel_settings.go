package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/beckonhealth/beckon"
)

const channelSettingsCols = `clinic_id, twilio_account_sid, twilio_auth_token, twilio_from,
	twilio_messaging_service_sid, twilio_per_second, sendgrid_api_key, sendgrid_from,
	sendgrid_from_name, sendgrid_per_second, sendgrid_webhook_key, sendgrid_unsure, revision, updated_at`

// scanChannelSettings reads a row and opens its secrets.
func (q *queries) scanChannelSettings(r scanner) (beckon.ChannelSettings, error) {
	var s beckon.ChannelSettings
	err := r.Scan(&s.ClinicID, &s.TwilioAccountSID, &s.TwilioAuthToken, &s.TwilioFrom,
		&s.TwilioMessagingServiceSID, &s.TwilioPerSecond, &s.SendGridAPIKey, &s.SendGridFrom,
		&s.SendGridFromName, &s.SendGridPerSecond, &s.SendGridWebhookKey, &s.SendGridUnsure, &s.Revision,
		ms{&s.UpdatedAt})
	if err != nil {
		return s, err
	}
	return s, errors.Join(
		q.open(secretTwilioAuthToken, &s.TwilioAuthToken, s.ClinicID),
		q.open(secretSendGridAPIKey, &s.SendGridAPIKey, s.ClinicID),
		q.open(secretSendGridHookKey, &s.SendGridWebhookKey, s.ClinicID))
}

func (q *queries) ChannelSettingsGet(ctx context.Context, clinicID string) (beckon.ChannelSettings, error) {
	return get(ctx, q, "channel_settings.get", q.scanChannelSettings,
		`SELECT `+channelSettingsCols+` FROM channel_settings WHERE clinic_id = $1`, clinicID)
}

func (q *queries) ChannelSettingsPut(ctx context.Context, s beckon.ChannelSettings) (beckon.ChannelSettings, error) {
	if s.ClinicID == "" {
		return beckon.ChannelSettings{}, fmt.Errorf("store: channel_settings.put: %w", beckon.ErrNotFound)
	}
	s.UpdatedAt = q.stamp(s.UpdatedAt)
	var out beckon.ChannelSettings
	err := q.atomic(ctx, func(q *queries) error {
		_, err := q.exec(ctx, "channel_settings.put", `
			INSERT INTO channel_settings (`+channelSettingsCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13)
			ON CONFLICT (clinic_id) DO UPDATE SET
				twilio_account_sid = excluded.twilio_account_sid,
				twilio_auth_token = excluded.twilio_auth_token,
				twilio_from = excluded.twilio_from,
				twilio_messaging_service_sid = excluded.twilio_messaging_service_sid,
				twilio_per_second = excluded.twilio_per_second,
				sendgrid_api_key = excluded.sendgrid_api_key,
				sendgrid_from = excluded.sendgrid_from,
				sendgrid_from_name = excluded.sendgrid_from_name,
				sendgrid_per_second = excluded.sendgrid_per_second,
				sendgrid_webhook_key = excluded.sendgrid_webhook_key,
				sendgrid_unsure = excluded.sendgrid_unsure,
				revision = channel_settings.revision + 1,
				updated_at = excluded.updated_at`,
			s.ClinicID, s.TwilioAccountSID, q.seal(secretTwilioAuthToken, s.TwilioAuthToken, s.ClinicID), s.TwilioFrom,
			s.TwilioMessagingServiceSID, s.TwilioPerSecond, q.seal(secretSendGridAPIKey, s.SendGridAPIKey, s.ClinicID), s.SendGridFrom,
			s.SendGridFromName, s.SendGridPerSecond, q.seal(secretSendGridHookKey, s.SendGridWebhookKey, s.ClinicID),
			s.SendGridUnsure, s.UpdatedAt.UnixMilli())
		if err != nil {
			return err
		}
		out, err = q.ChannelSettingsGet(ctx, s.ClinicID)
		return err
	})
	return out, err
}
