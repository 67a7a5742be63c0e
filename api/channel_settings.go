package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/sendgrid"
)

// TwilioSettings is how a clinic sends SMS. auth_token is write-only.
type TwilioSettings struct {
	AccountSID          string  `json:"account_sid,omitempty" doc:"Twilio account SID (AC…); empty: the installation's"`
	AuthToken           *string `json:"auth_token,omitempty" writeOnly:"true" doc:"Write-only. Omit to keep the stored token, \"\" to remove it"`
	AuthTokenConfigured bool    `json:"auth_token_configured" readOnly:"true" doc:"Whether a token is stored (it is never returned)"`
	From                string  `json:"from,omitempty" doc:"Sender: E.164 number or short code"`
	MessagingServiceSID string  `json:"messaging_service_sid,omitempty" doc:"Messaging Service SID (MG…), instead of or with from"`
	PerSecond           float64 `json:"per_second,omitempty" minimum:"0" maximum:"1000" doc:"Messages per second of this sender across all workers; 0: 1 (long code), 3 (toll-free), 100 (short code)"`
}

// SendGridSettings is how a clinic sends email. api_key is write-only.
type SendGridSettings struct {
	APIKey           *string `json:"api_key,omitempty" writeOnly:"true" doc:"Write-only. Omit to keep the stored key, \"\" to remove it"`
	APIKeyConfigured bool    `json:"api_key_configured" readOnly:"true" doc:"Whether a key is stored (it is never returned)"`
	From             string  `json:"from,omitempty" doc:"Verified sender address"`
	FromName         string  `json:"from_name,omitempty" maxLength:"200"`
	PerSecond        float64 `json:"per_second,omitempty" minimum:"0" maximum:"10000" doc:"Messages per second of this account; 0: 100"`
	WebhookPublicKey string  `json:"webhook_public_key,omitempty" doc:"Base64 ECDSA public key of the signed event webhook"`
	WhenUnsure       string  `json:"when_unsure,omitempty" enum:"resend,record_unknown" doc:"What is done with an email whose fate nobody can tell (the call to SendGrid was cut off, and no event came within BECKON_SENDGRID_EVENT_WAIT or no event webhook is configured): resend (the default: the patient may get it twice) or record_unknown (the patient may not get it)"`
}

// ChannelSettings is a clinic's providers; empty fields use the installation's.
type ChannelSettings struct {
	Twilio    TwilioSettings   `json:"twilio,omitempty"`
	SendGrid  SendGridSettings `json:"sendgrid,omitempty"`
	Revision  int64            `json:"revision" readOnly:"true"`
	UpdatedAt *time.Time       `json:"updated_at,omitempty" readOnly:"true"`
}

type channelSettingsOutput struct {
	Body ChannelSettings
}

type putChannelSettingsInput struct {
	Body ChannelSettings
}

var (
	twilioSIDPattern = regexp.MustCompile(`^(AC|MG)[0-9A-Za-z]{32}$`)
	alnumPattern     = regexp.MustCompile(`^[0-9A-Za-z]+$`)
	senderPattern    = regexp.MustCompile(`^(\+[1-9][0-9]{6,14}|[0-9]{5,6})$`)
)

func (s *Server) registerChannelSettings() {
	huma.Register(s.api, op("get-clinic-channels", http.MethodGet, "/v1/clinic/channels", "Read your clinic's SMS and email providers (secrets are never returned)"),
		func(ctx context.Context, _ *struct{}) (*channelSettingsOutput, error) {
			cs, err := s.store.ChannelSettingsGet(ctx, keyFrom(ctx).ClinicID)
			if err != nil && !errors.Is(err, beckon.ErrNotFound) {
				return nil, s.mapError("get-clinic-channels", err)
			}
			return &channelSettingsOutput{Body: channelSettingsOut(cs)}, nil
		})
	huma.Register(s.api, op("put-clinic-channels", http.MethodPut, "/v1/clinic/channels", "Set your clinic's SMS and email providers"),
		func(ctx context.Context, in *putChannelSettingsInput) (*channelSettingsOutput, error) {
			k := keyFrom(ctx)
			old, err := s.store.ChannelSettingsGet(ctx, k.ClinicID)
			if err != nil && !errors.Is(err, beckon.ErrNotFound) {
				return nil, s.mapError("put-clinic-channels", err)
			}
			cs, err := channelSettingsFromBody(k.ClinicID, in.Body, old)
			if err != nil {
				return nil, err
			}
			cs.UpdatedAt = s.cfg.Clock.Now()
			var saved beckon.ChannelSettings
			err = s.store.InTx(ctx, func(q beckon.Querier) error {
				var err error
				if saved, err = q.ChannelSettingsPut(ctx, cs); err != nil {
					return err
				}
				return q.AuditAppend(ctx, beckon.AuditEntry{
					ClinicID: k.ClinicID, Actor: actor(k), Action: "clinic.channels_updated",
					Entity: "clinic", EntityID: k.ClinicID, At: cs.UpdatedAt,
				})
			})
			if err != nil {
				return nil, s.mapError("put-clinic-channels", err)
			}
			return &channelSettingsOutput{Body: channelSettingsOut(saved)}, nil
		})
}

func channelSettingsFromBody(clinicID string, b ChannelSettings, old beckon.ChannelSettings) (beckon.ChannelSettings, error) {
	var fe fieldErrors
	tw, sg := b.Twilio, b.SendGrid
	cs := beckon.ChannelSettings{
		ClinicID:                  clinicID,
		TwilioAccountSID:          tw.AccountSID,
		TwilioAuthToken:           old.TwilioAuthToken,
		TwilioFrom:                tw.From,
		TwilioMessagingServiceSID: tw.MessagingServiceSID,
		TwilioPerSecond:           tw.PerSecond,
		SendGridAPIKey:            old.SendGridAPIKey,
		SendGridFrom:              sg.From,
		SendGridFromName:          sg.FromName,
		SendGridPerSecond:         sg.PerSecond,
		SendGridWebhookKey:        sg.WebhookPublicKey,
		SendGridUnsure:            sg.WhenUnsure,
	}
	if tw.AuthToken != nil {
		cs.TwilioAuthToken = *tw.AuthToken
	} else if cs.TwilioAccountSID != old.TwilioAccountSID {
		cs.TwilioAuthToken = "" // the stored token belongs to the old account
	}
	if sg.APIKey != nil {
		cs.SendGridAPIKey = *sg.APIKey
	}
	if cs.TwilioAccountSID != "" && (len(cs.TwilioAccountSID) < 2 || cs.TwilioAccountSID[:2] != "AC" || !twilioSIDPattern.MatchString(cs.TwilioAccountSID)) {
		fe.add("twilio.account_sid", "must be AC followed by 32 letters or digits")
	}
	if cs.TwilioAuthToken != "" && !alnumPattern.MatchString(cs.TwilioAuthToken) {
		fe.add("twilio.auth_token", "must be letters and digits")
	}
	if (cs.TwilioAccountSID == "") != (cs.TwilioAuthToken == "") {
		fe.add("twilio.auth_token", "account_sid and auth_token go together: set both or neither (a new account needs its token)")
	}
	if cs.TwilioFrom != "" && !senderPattern.MatchString(cs.TwilioFrom) {
		fe.add("twilio.from", "must be an E.164 number (+14155550100) or a short code")
	}
	if m := cs.TwilioMessagingServiceSID; m != "" && (m[:min(2, len(m))] != "MG" || !twilioSIDPattern.MatchString(m)) {
		fe.add("twilio.messaging_service_sid", "must be MG followed by 32 letters or digits")
	}
	if cs.SendGridFrom != "" {
		if err := validEmail(cs.SendGridFrom); err != nil {
			fe.add("sendgrid.from", "%v", err)
		}
	}
	if cs.SendGridWebhookKey != "" {
		if _, err := sendgrid.ParsePublicKey(cs.SendGridWebhookKey); err != nil {
			fe.add("sendgrid.webhook_public_key", "must be the base64 ECDSA public key shown in SendGrid's settings")
		}
	}
	return cs, fe.err()
}

func channelSettingsOut(cs beckon.ChannelSettings) ChannelSettings {
	out := ChannelSettings{
		Twilio: TwilioSettings{
			AccountSID:          cs.TwilioAccountSID,
			AuthTokenConfigured: cs.TwilioAuthToken != "",
			From:                cs.TwilioFrom,
			MessagingServiceSID: cs.TwilioMessagingServiceSID,
			PerSecond:           cs.TwilioPerSecond,
		},
		SendGrid: SendGridSettings{
			APIKeyConfigured: cs.SendGridAPIKey != "",
			From:             cs.SendGridFrom,
			FromName:         cs.SendGridFromName,
			PerSecond:        cs.SendGridPerSecond,
			WebhookPublicKey: cs.SendGridWebhookKey,
			WhenUnsure:       cmp.Or(cs.SendGridUnsure, beckon.UnsureResend),
		},
		Revision: cs.Revision,
	}
	if !cs.UpdatedAt.IsZero() {
		t := cs.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}
