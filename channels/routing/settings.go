// Package routing decides, per clinic, which channel a message goes through
// (Twilio, SendGrid or the outbox) and how fast each sender may send: the
// installation's provider settings, overridden field by field by a clinic's
// own (PUT /v1/clinic/channels), its pacing keys and default rates (a
// toll-free table), and the adapters built once per revision of a clinic's
// settings. The worker asks it through channels.Router.
package routing

import (
	"fmt"
	"time"
)

// Modes (BECKON_CHANNEL).
const (
	ModeAuto      = "auto"      // a provider where one is configured, else the outbox
	ModeOutbox    = "outbox"    // everything to the outbox, even with providers configured
	ModeProviders = "providers" // providers only; a kind without one fails its sends
)

// Settings are the installation's delivery settings (read from the
// environment only: secrets do not belong on a command line, where any user
// of the machine can read them). A clinic's own settings override each
// provider field.
type Settings struct {
	// Mode (BECKON_CHANNEL): auto, outbox or providers. Default auto.
	Mode string
	// PublicURL (BECKON_PUBLIC_URL): Beckon's public base URL, for status
	// callbacks and their signatures. Default empty: no Twilio status callbacks.
	PublicURL string

	TwilioAccountSID          string  // BECKON_TWILIO_ACCOUNT_SID
	TwilioAuthToken           string  // BECKON_TWILIO_AUTH_TOKEN (secret)
	TwilioFrom                string  // BECKON_TWILIO_FROM: E.164 number or short code
	TwilioMessagingServiceSID string  // BECKON_TWILIO_MESSAGING_SERVICE_SID
	TwilioBaseURL             string  // BECKON_TWILIO_BASE_URL. Default https://api.twilio.com
	TwilioPerSecond           float64 // BECKON_TWILIO_PER_SECOND. Default by sender: 1 long code, 3 toll-free, 100 short code

	SendGridAPIKey     string  // BECKON_SENDGRID_API_KEY (secret)
	SendGridFrom       string  // BECKON_SENDGRID_FROM: a verified sender address
	SendGridFromName   string  // BECKON_SENDGRID_FROM_NAME
	SendGridBaseURL    string  // BECKON_SENDGRID_BASE_URL. Default https://api.sendgrid.com
	SendGridPerSecond  float64 // BECKON_SENDGRID_PER_SECOND. Default 100
	SendGridWebhookKey string  // BECKON_SENDGRID_WEBHOOK_KEY: base64 public key of the signed event webhook
	// SendGridEventWait (BECKON_SENDGRID_EVENT_WAIT): how long the events of
	// an email whose call was cut off are waited for, when the event webhook
	// is configured, before the clinic's choice (resend or record unknown)
	// applies. Default 10m.
	SendGridEventWait time.Duration

	// HTTPTimeout (BECKON_PROVIDER_TIMEOUT) bounds one provider call. Default 10s.
	HTTPTimeout time.Duration
	// MaxPaceWait (BECKON_PACE_MAX_WAIT): a send waits this long at most in a
	// worker for its sender's next slot, else it is handed back. Default 10s.
	MaxPaceWait time.Duration
}

// String never shows the secrets.
func (s Settings) String() string {
	return fmt.Sprintf("providers(mode=%s twilio=%t sendgrid=%t)", s.Mode, s.TwilioAccountSID != "", s.SendGridAPIKey != "")
}
