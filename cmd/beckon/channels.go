package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/channels/pacing"
	"github.com/beckonhealth/beckon/channels/sendgrid"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/worker"
)

// Channel modes (BECKON_CHANNEL).
const (
	modeAuto      = "auto"      // a provider where one is configured, else the outbox
	modeOutbox    = "outbox"    // everything to the outbox, even with providers configured
	modeProviders = "providers" // providers only; a kind without one fails its sends
)

// paceHeadroom: sends are spaced at this share of a sender's rate. The
// provider counts on its own clock, and a request delayed on its way (a new
// connection, a busy machine) lets the next ones catch up with it: at 80%,
// ten slots of a 10/s sender span 1.25 s, so 250 ms of such delay still keeps
// any second at the provider within the rate.
const paceHeadroom = 0.8

// ProviderConfig is the installation's delivery settings, from the
// environment only (secrets do not belong on a command line, where any user
// of the machine can read them). A clinic's own settings (PUT
// /v1/clinic/channels) override each field.
type ProviderConfig struct {
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
func (p ProviderConfig) String() string {
	return fmt.Sprintf("providers(mode=%s twilio=%t sendgrid=%t)", p.Mode, p.TwilioAccountSID != "", p.SendGridAPIKey != "")
}

// providerConfig reads BECKON_CHANNEL, BECKON_PUBLIC_URL, BECKON_TWILIO_* and
// BECKON_SENDGRID_* and checks them.
func (m *Main) providerConfig() (ProviderConfig, error) {
	get := m.Getenv
	var errs []error
	num := func(name string) float64 {
		v := get(name)
		if v == "" {
			return 0
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive number", name, v))
		}
		return f
	}
	dur := func(name string, def time.Duration) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", name, v))
		}
		return d
	}
	p := ProviderConfig{
		Mode:                      cmp.Or(get("BECKON_CHANNEL"), modeAuto),
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
	switch p.Mode {
	case modeAuto, modeOutbox, modeProviders:
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
	return p, errors.Join(errs...)
}

// deliveryConfig is what the API's webhooks need.
func (m *Main) deliveryConfig() api.DeliveryConfig {
	p, err := m.providers, m.providersErr // the worker role refuses to start on an error
	if err != nil && m.logger != nil {
		m.logger.Error("provider settings are not valid; webhooks use what is valid", slog.String("error", err.Error()))
	}
	return api.DeliveryConfig{
		PublicURL:          p.PublicURL,
		Queue:              m.Config.Queue,
		MaxRetry:           m.Config.MaxRetry,
		TwilioAuthToken:    p.TwilioAuthToken,
		SendGridWebhookKey: p.SendGridWebhookKey,
	}
}

// workerConfig configures the delivery handler: claims, and pacing shared by
// every worker through Redis.
func (m *Main) workerConfig() worker.Config {
	p := m.providers // valid: the worker does not start otherwise (channelRouter)
	return worker.Config{
		ClaimTimeout: m.Config.ClaimTimeout,
		SendTimeout:  p.HTTPTimeout,
		Limiter:      pacing.New(m.rdb, ""),
		MaxPaceWait:  p.MaxPaceWait,
	}
}

// channelRouter picks the channels deliveries go through, per clinic.
func (m *Main) channelRouter() (channels.Router, error) {
	p, err := m.providers, m.providersErr
	if err != nil {
		return nil, err
	}
	now := func() time.Time { return m.Clock.Now() }
	return &providerRouter{
		store:  m.store,
		cfg:    p,
		outbox: outbox.New(m.store, now),
		now:    now,
		transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		cache: map[string]clinicChannels{},
	}, nil
}

// providerRouter routes each clinic's messages to Twilio, SendGrid or the
// outbox. Adapters are built once per revision of the clinic's settings and
// share one HTTP transport.
type providerRouter struct {
	store     store.Store
	cfg       ProviderConfig
	outbox    channels.Channel
	now       func() time.Time
	transport http.RoundTripper

	mu    sync.Mutex
	cache map[string]clinicChannels
}

type clinicChannels struct {
	revision   int64
	sms, email channels.Channel
	smsErr     error
	emailErr   error
}

// Channel implements channels.Router.
func (r *providerRouter) Channel(ctx context.Context, clinicID, kind string) (channels.Channel, error) {
	if r.cfg.Mode == modeOutbox {
		return r.outbox, nil
	}
	cs, err := r.store.ChannelSettingsGet(ctx, clinicID)
	if errors.Is(err, store.ErrNotFound) {
		cs, err = store.ChannelSettings{ClinicID: clinicID}, nil
	}
	if err != nil {
		return nil, &channels.Error{Kind: channels.KindTransient, Code: "settings", Reason: "cannot read the clinic's channel settings", Err: err}
	}
	r.mu.Lock()
	cc, ok := r.cache[clinicID]
	if !ok || cc.revision != cs.Revision {
		cc = r.build(cs)
		r.cache[clinicID] = cc
	}
	r.mu.Unlock()
	switch kind {
	case store.ChannelSMS:
		return cc.sms, cc.smsErr
	case store.ChannelEmail:
		return cc.email, cc.emailErr
	}
	return nil, &channels.Error{Kind: channels.KindPermanent, Code: "no_channel", Reason: "unknown channel " + kind}
}

func (r *providerRouter) build(cs store.ChannelSettings) clinicChannels {
	cc := clinicChannels{revision: cs.Revision}
	env := r.cfg
	unconfigured := func(kind string) (channels.Channel, error) {
		if r.cfg.Mode == modeProviders {
			return nil, &channels.Error{Kind: channels.KindPermanent, Code: "no_channel", Reason: "no " + kind + " provider configured for this clinic"}
		}
		return r.outbox, nil
	}
	badConfig := func(provider string, err error) error {
		// The adapters' errors name fields, never secrets.
		return &channels.Error{Kind: channels.KindPermanent, Code: "bad_config", Reason: provider + " settings are not valid: " + err.Error()}
	}

	sid := cmp.Or(cs.TwilioAccountSID, env.TwilioAccountSID)
	token := env.TwilioAuthToken
	if cs.TwilioAccountSID != "" {
		token = cs.TwilioAuthToken
	}
	from := cmp.Or(cs.TwilioFrom, env.TwilioFrom)
	msid := cmp.Or(cs.TwilioMessagingServiceSID, env.TwilioMessagingServiceSID)
	if sid == "" {
		cc.sms, cc.smsErr = unconfigured(store.ChannelSMS)
	} else {
		opts := twilio.Options{
			AccountSID:          sid,
			AuthToken:           token,
			From:                from,
			MessagingServiceSID: msid,
			BaseURL:             env.TwilioBaseURL,
			HTTPTimeout:         env.HTTPTimeout,
			Transport:           r.transport,
			Now:                 r.now,
		}
		if env.PublicURL != "" {
			opts.StatusCallbackURL = env.PublicURL + api.TwilioStatusPath + "?" + api.ClinicParam + "=" + url.QueryEscape(cs.ClinicID)
		}
		ch, err := twilio.New(opts)
		if err != nil {
			cc.smsErr = badConfig("twilio", err)
		} else {
			rate := cmp.Or(cs.TwilioPerSecond, env.TwilioPerSecond, defaultSMSRate(from, msid))
			cc.sms = pacedLooker{paced{ch, "twilio:" + sid + ":" + cmp.Or(from, msid), rate * paceHeadroom}, ch}
		}
	}

	key := cmp.Or(cs.SendGridAPIKey, env.SendGridAPIKey)
	if key == "" {
		cc.email, cc.emailErr = unconfigured(store.ChannelEmail)
	} else {
		fromAddr, fromName := cmp.Or(cs.SendGridFrom, env.SendGridFrom), cmp.Or(cs.SendGridFromName, env.SendGridFromName)
		// The event webhook reports on the clinic's mail when the clinic has
		// its own key, or the installation's key may speak for it (it sends
		// through the installation's account).
		var wait time.Duration
		if cs.SendGridWebhookKey != "" || (env.SendGridWebhookKey != "" && !cs.OwnSendGrid()) {
			wait = env.SendGridEventWait
		}
		ch, err := sendgrid.New(sendgrid.Options{
			APIKey:       key,
			From:         fromAddr,
			FromName:     fromName,
			BaseURL:      env.SendGridBaseURL,
			EventWait:    wait,
			RecordUnsure: cs.SendGridUnsure == store.UnsureRecordUnknown,
			HTTPTimeout:  env.HTTPTimeout,
			Transport:    r.transport,
			Now:          r.now,
		})
		if err != nil {
			cc.emailErr = badConfig("sendgrid", err)
		} else {
			sum := sha256.Sum256([]byte(key)) // the account, not the key itself
			rate := cmp.Or(cs.SendGridPerSecond, env.SendGridPerSecond, 100)
			cc.email = pacedReporter{paced{ch, "sendgrid:" + hex.EncodeToString(sum[:8]), rate * paceHeadroom}, ch}
		}
	}
	return cc
}

// defaultSMSRate is a sender's throughput by its kind: short code 100/s,
// toll-free 3/s, long code (and a messaging service, whose numbers are not
// known here) 1/s.
func defaultSMSRate(from, msid string) float64 {
	switch {
	case from == "" && msid != "":
		return 1
	case len(from) >= 5 && len(from) <= 6 && !strings.HasPrefix(from, "+"):
		return 100
	case len(from) == 12 && strings.HasPrefix(from, "+1") && tollFree[from[2:5]]:
		return 3
	}
	return 1
}

var tollFree = map[string]bool{"800": true, "833": true, "844": true, "855": true, "866": true, "877": true, "888": true}

// paced is a channel with its sender's bucket (channels.Paced).
type paced struct {
	channels.Channel
	key  string
	rate float64
}

func (p paced) Pace() (string, float64) { return p.key, p.rate }

// pacedLooker is a paced channel that can also look sends up.
type pacedLooker struct {
	paced
	looker channels.Looker
}

func (p pacedLooker) Lookup(ctx context.Context, m channels.Message) (channels.Receipt, bool, error) {
	return p.looker.Lookup(ctx, m)
}

// pacedReporter is a paced channel whose provider reports by events.
type pacedReporter struct {
	paced
	channels.Reporter
}
