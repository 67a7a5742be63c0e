package app

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beckonhealth/beckon/channels/routing"
	"github.com/beckonhealth/beckon/channels/sendgrid"
)

// providersFromEnv reads BECKON_CHANNEL, BECKON_PUBLIC_URL, BECKON_TWILIO_*,
// BECKON_SENDGRID_*, BECKON_PROVIDER_TIMEOUT and BECKON_PACE_MAX_WAIT, fills
// their defaults and checks them. Its errors name variables, never secrets.
func providersFromEnv(get func(string) string) (routing.Settings, error) {
	r := &envReader{get: get}
	num, dur := r.number, r.duration
	p := routing.Settings{
		Mode:                      cmp.Or(get("BECKON_CHANNEL"), routing.ModeAuto),
		PublicURL:                 strings.TrimRight(get("BECKON_PUBLIC_URL"), "/"),
		TwilioAccountSID:          get("BECKON_TWILIO_ACCOUNT_SID"),
		TwilioAuthToken:           get("BECKON_TWILIO_AUTH_TOKEN"),
		TwilioFrom:                get("BECKON_TWILIO_FROM"),
		TwilioMessagingServiceSID: get("BECKON_TWILIO_MESSAGING_SERVICE_SID"),
		TwilioBaseURL:             get("BECKON_TWILIO_BASE_URL"),
		TwilioPerSecond:           num("BECKON_TWILIO_PER_SECOND"),
		SendGridAPIKey:            get("BECKON_SENDGRID_API_KEY"),
		SendGridFrom:              get("BECKON_SENDGRID_FROM"),
		SendGridFromName:          get("BECKON_SENDGRID_FROM_NAME"),
		SendGridBaseURL:           get("BECKON_SENDGRID_BASE_URL"),
		SendGridPerSecond:         num("BECKON_SENDGRID_PER_SECOND"),
		SendGridWebhookKey:        get("BECKON_SENDGRID_WEBHOOK_KEY"),
		SendGridEventWait:         dur("BECKON_SENDGRID_EVENT_WAIT", 10*time.Minute),
		HTTPTimeout:               dur("BECKON_PROVIDER_TIMEOUT", 10*time.Second),
		MaxPaceWait:               dur("BECKON_PACE_MAX_WAIT", 10*time.Second),
	}
	var errs []error
	switch p.Mode {
	case routing.ModeAuto, routing.ModeOutbox, routing.ModeProviders:
	default:
		errs = append(errs, fmt.Errorf("BECKON_CHANNEL: %q: use auto, outbox or providers", p.Mode))
	}
	if p.PublicURL != "" {
		if u, err := url.Parse(p.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, errors.New("BECKON_PUBLIC_URL: must be an absolute http(s) URL without a query"))
		}
	}
	if (p.TwilioAccountSID == "") != (p.TwilioAuthToken == "") {
		errs = append(errs, errors.New("BECKON_TWILIO_ACCOUNT_SID and BECKON_TWILIO_AUTH_TOKEN go together"))
	}
	if p.TwilioAccountSID != "" && p.TwilioFrom == "" && p.TwilioMessagingServiceSID == "" {
		errs = append(errs, errors.New("Twilio needs BECKON_TWILIO_FROM or BECKON_TWILIO_MESSAGING_SERVICE_SID"))
	}
	if (p.SendGridAPIKey == "") != (p.SendGridFrom == "") {
		errs = append(errs, errors.New("BECKON_SENDGRID_API_KEY and BECKON_SENDGRID_FROM go together"))
	}
	if p.SendGridWebhookKey != "" {
		if _, err := sendgrid.ParsePublicKey(p.SendGridWebhookKey); err != nil {
			errs = append(errs, errors.New("BECKON_SENDGRID_WEBHOOK_KEY: not a base64 ECDSA public key"))
		}
	}
	return p, errors.Join(append(r.errs, errs...)...)
}
