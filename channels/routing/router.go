package routing

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/sendgrid"
	"github.com/beckonhealth/beckon/channels/twilio"
)

// SettingsReader reads a clinic's own channel settings.
type SettingsReader interface {
	ChannelSettingsGet(ctx context.Context, clinicID string) (beckon.ChannelSettings, error)
}

// Options configure a Router.
type Options struct {
	Settings Settings
	Store    SettingsReader
	// Outbox takes the messages of a kind without a provider (mode auto) and
	// every message (mode outbox).
	Outbox channels.Channel
	// StatusCallback is the URL Twilio reports a clinic's statuses to; nil:
	// no status callbacks.
	StatusCallback func(clinicID string) string
	// Now is the clock the adapters stamp receipts with.
	Now func() time.Time
	// SettingsTTL is how long a clinic's channel settings are used before
	// they are read again: a change a clinic makes applies to its sends
	// within this bound. 0: read before every send.
	SettingsTTL time.Duration
	// Wall is the clock SettingsTTL is measured on (default time.Now): the
	// wall clock, so that settings go stale even when Now is held still.
	Wall func() time.Time
}

// Router routes each clinic's messages to Twilio, SendGrid or the outbox
// (channels.Router). Adapters are built once per revision of the clinic's
// settings and share one HTTP transport.
type Router struct {
	opts      Options
	transport http.RoundTripper

	reads singleflight.Group // one settings read per clinic at a time

	mu    sync.Mutex
	cache map[string]clinicChannels
}

type clinicChannels struct {
	revision   int64
	read       time.Time // when the settings were read (Wall)
	sms, email channels.Channel
	smsErr     error
	emailErr   error
}

// New returns a Router.
func New(o Options) *Router {
	if o.Wall == nil {
		o.Wall = time.Now
	}
	return &Router{
		opts: o,
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
	}
}

// Channel implements channels.Router.
func (r *Router) Channel(ctx context.Context, clinicID string, kind beckon.Channel) (channels.Channel, error) {
	if r.opts.Settings.Mode == ModeOutbox {
		return r.opts.Outbox, nil
	}
	cc, err := r.clinic(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	switch kind {
	case beckon.ChannelSMS:
		return cc.sms, cc.smsErr
	case beckon.ChannelEmail:
		return cc.email, cc.emailErr
	}
	return nil, &channels.Error{Kind: channels.KindPermanent, Code: "no_channel", Reason: "unknown channel " + string(kind)}
}

// clinic returns the clinic's adapters, built from settings read no longer
// than SettingsTTL ago; concurrent sends of a clinic share one read.
func (r *Router) clinic(ctx context.Context, clinicID string) (clinicChannels, error) {
	if r.opts.SettingsTTL <= 0 {
		return r.load(ctx, clinicID)
	}
	r.mu.Lock()
	cc, ok := r.cache[clinicID]
	r.mu.Unlock()
	if ok && r.opts.Wall().Sub(cc.read) < r.opts.SettingsTTL {
		return cc, nil
	}
	// The read is shared: one caller's cancellation does not fail the others.
	v, err, _ := r.reads.Do(clinicID, func() (any, error) {
		return r.load(context.WithoutCancel(ctx), clinicID)
	})
	return v.(clinicChannels), err
}

// load reads the clinic's settings and returns its adapters, rebuilt if the
// settings changed.
func (r *Router) load(ctx context.Context, clinicID string) (clinicChannels, error) {
	read := r.opts.Wall()
	cs, err := r.opts.Store.ChannelSettingsGet(ctx, clinicID)
	if errors.Is(err, beckon.ErrNotFound) {
		cs, err = beckon.ChannelSettings{ClinicID: clinicID}, nil
	}
	if err != nil {
		return clinicChannels{}, &channels.Error{Kind: channels.KindTransient, Code: "settings", Reason: "cannot read the clinic's channel settings", Err: err}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cc, ok := r.cache[clinicID]
	if !ok || cc.revision != cs.Revision {
		cc = r.build(cs)
	}
	cc.read = read
	r.cache[clinicID] = cc
	return cc, nil
}

func (r *Router) build(cs beckon.ChannelSettings) clinicChannels {
	cc := clinicChannels{revision: cs.Revision}
	env := r.opts.Settings
	unconfigured := func(kind beckon.Channel) (channels.Channel, error) {
		if env.Mode == ModeProviders {
			return nil, &channels.Error{Kind: channels.KindPermanent, Code: "no_channel", Reason: "no " + string(kind) + " provider configured for this clinic"}
		}
		return r.opts.Outbox, nil
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
		cc.sms, cc.smsErr = unconfigured(beckon.ChannelSMS)
	} else {
		opts := twilio.Options{
			AccountSID:          sid,
			AuthToken:           token,
			From:                from,
			MessagingServiceSID: msid,
			BaseURL:             env.TwilioBaseURL,
			HTTPTimeout:         env.HTTPTimeout,
			Transport:           r.transport,
			Now:                 r.opts.Now,
		}
		if r.opts.StatusCallback != nil {
			opts.StatusCallbackURL = r.opts.StatusCallback(cs.ClinicID)
		}
		ch, err := twilio.New(opts)
		if err != nil {
			cc.smsErr = badConfig("twilio", err)
		} else {
			rate := cmp.Or(cs.TwilioPerSecond, env.TwilioPerSecond, DefaultSMSRate(from, msid))
			cc.sms = pacedLooker{paced{ch, "twilio:" + sid + ":" + cmp.Or(from, msid), rate * PaceHeadroom}, ch}
		}
	}

	key := cmp.Or(cs.SendGridAPIKey, env.SendGridAPIKey)
	if key == "" {
		cc.email, cc.emailErr = unconfigured(beckon.ChannelEmail)
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
			RecordUnsure: cs.SendGridUnsure == beckon.UnsureRecordUnknown,
			HTTPTimeout:  env.HTTPTimeout,
			Transport:    r.transport,
			Now:          r.opts.Now,
		})
		if err != nil {
			cc.emailErr = badConfig("sendgrid", err)
		} else {
			sum := sha256.Sum256([]byte(key)) // the account, not the key itself
			rate := cmp.Or(cs.SendGridPerSecond, env.SendGridPerSecond, 100)
			cc.email = pacedReporter{paced{ch, "sendgrid:" + hex.EncodeToString(sum[:8]), rate * PaceHeadroom}, ch}
		}
	}
	return cc
}
