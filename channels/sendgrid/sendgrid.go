// Package sendgrid delivers email through SendGrid's v3 Mail Send API with
// the official SDK (github.com/sendgrid/sendgrid-go).
//
// Each send builds its own rest.Request (sendgrid.GetRequest) and sends it
// with the Channel's own rest.Client and http.Client: the SDK's Client.Send
// writes the body onto a shared request (duplicate emails under concurrency,
// sendgrid-go #474, #405) and its default HTTP client has no timeout.
//
// SendGrid's v3 mail API cannot look a message up by custom argument, so this
// channel does not implement channels.Looker but channels.Reporter: a call cut
// off (a crash, a timeout) is settled by the event webhook's events, which
// carry custom_args.send_id, or when none comes by the clinic's choice
// (resend, or record unknown).
package sendgrid

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/beckonhealth/beckon/channels"
)

// Provider is the Receipt.Provider of this channel.
const Provider = "sendgrid"

// DefaultBaseURL is SendGrid's API.
const DefaultBaseURL = "https://api.sendgrid.com"

// Custom argument keys Beckon sets on every mail; SendGrid echoes them in
// every event.
const (
	ArgSendID   = "send_id"
	ArgClinicID = "clinic_id"
)

// statusQueued is beckon.MessageQueued, spelled out so that this package does
// not import the store.
const statusQueued = "queued"

// Options configure a Channel.
type Options struct {
	APIKey   string // required; never logged
	From     string // required: a verified sender address
	FromName string // optional display name
	// BaseURL replaces https://api.sendgrid.com (the EU host, a test double).
	BaseURL string
	// EventWait is how long after a call was cut off its events are waited
	// for before the clinic's choice applies (ResendUnsure): set it when the
	// signed event webhook is configured for this account; zero says no
	// event will come.
	EventWait time.Duration
	// RecordUnsure says an email whose fate nobody can tell is recorded
	// unknown (the patient may not get it) instead of sent again (the
	// patient may get it twice, the default).
	RecordUnsure bool
	// HTTPTimeout bounds one API call. Default: 10s.
	HTTPTimeout time.Duration
	// Transport is the base round tripper. Default: http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock used to turn X-RateLimit-Reset into a wait. Default: time.Now.
	Now func() time.Time
}

// Channel sends email through SendGrid. It is safe for concurrent use.
type Channel struct {
	opts   Options
	client *rest.Client
}

var (
	_ channels.Channel  = (*Channel)(nil)
	_ channels.Reporter = (*Channel)(nil)
)

// EventWait implements channels.Reporter.
func (c *Channel) EventWait() time.Duration { return c.opts.EventWait }

// ResendUnsure implements channels.Reporter.
func (c *Channel) ResendUnsure() bool { return !c.opts.RecordUnsure }

// New checks opts and returns a Channel.
func New(opts Options) (*Channel, error) {
	opts.BaseURL = strings.TrimRight(cmp.Or(opts.BaseURL, DefaultBaseURL), "/")
	opts.HTTPTimeout = cmp.Or(opts.HTTPTimeout, 10*time.Second)
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var errs []error
	if opts.APIKey == "" {
		errs = append(errs, errors.New("sendgrid: APIKey is required"))
	}
	if a, err := mail.ParseAddress(opts.From); err != nil || a.Address != opts.From {
		errs = append(errs, errors.New("sendgrid: From must be a bare email address"))
	}
	if u, err := url.Parse(opts.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("sendgrid: BaseURL must be an absolute http(s) URL"))
	}
	if opts.HTTPTimeout < 0 {
		errs = append(errs, errors.New("sendgrid: HTTPTimeout must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Channel{
		opts: opts,
		client: &rest.Client{HTTPClient: &http.Client{
			Transport:     opts.Transport,
			Timeout:       opts.HTTPTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}},
	}, nil
}

// body builds the v3 mail send JSON for m with the SDK's mail helpers.
func (c *Channel) body(m channels.Message) ([]byte, error) {
	msg := sgmail.NewV3Mail()
	msg.SetFrom(sgmail.NewEmail(c.opts.FromName, c.opts.From))
	msg.Subject = m.Subject
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail("", m.To))
	msg.AddPersonalizations(p)
	if m.Text != "" {
		msg.AddContent(sgmail.NewContent("text/plain", m.Text))
	}
	if m.HTML != "" {
		msg.AddContent(sgmail.NewContent("text/html", m.HTML))
	}
	for k, v := range m.Headers {
		msg.SetHeader(k, v)
	}
	// Ids only: custom args and categories are visible in SendGrid's UI and
	// events, so no PHI goes there.
	if m.SendID != "" {
		msg.SetCustomArg(ArgSendID, m.SendID)
	}
	if m.ClinicID != "" {
		msg.SetCustomArg(ArgClinicID, m.ClinicID)
	}
	return json.Marshal(msg)
}

// Send posts the mail. The error, if any, is a *channels.Error.
func (c *Channel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if a, err := mail.ParseAddress(m.To); err != nil || a.Address != m.To {
		return channels.Receipt{}, &channels.Error{Kind: channels.KindPermanent, Code: "invalid_address", Reason: "sendgrid: To is not a bare email address"}
	}
	if m.Subject == "" || (m.Text == "" && m.HTML == "") {
		return channels.Receipt{}, &channels.Error{Kind: channels.KindPermanent, Code: "invalid_message", Reason: "sendgrid: message needs a subject and a text or HTML body"}
	}
	body, err := c.body(m)
	if err != nil {
		return channels.Receipt{}, &channels.Error{Kind: channels.KindPermanent, Code: "invalid_message", Reason: "sendgrid: cannot encode the mail", Err: err}
	}

	req := sg.GetRequest(c.opts.APIKey, "/v3/mail/send", c.opts.BaseURL)
	req.Method = rest.Post
	req.Body = body

	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	resp, err := c.client.SendWithContext(ctx, req)
	return c.result(resp, err, wrote.Load())
}

// result classifies SendGrid's answer: the one table.
func (c *Channel) result(resp *rest.Response, err error, wrote bool) (channels.Receipt, error) {
	if resp != nil && (resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK) {
		// 202 (200 in sandbox mode). A body read error after it does not
		// matter: the id is in a header. Without the header the mail still
		// went; events are matched on custom_args.send_id.
		return channels.Receipt{
			Provider:   Provider,
			ProviderID: header(resp, "X-Message-Id"),
			Status:     statusQueued,
			From:       c.opts.From,
		}, nil
	}
	if resp == nil || resp.StatusCode == 0 {
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err // the URL holds nothing private, but keep errors short
		}
		if wrote {
			return channels.Receipt{}, &channels.Error{Kind: channels.KindAmbiguous, Code: "no_response", Reason: "sendgrid: request sent, no response (timeout or reset)", Err: cause}
		}
		return channels.Receipt{}, &channels.Error{Kind: channels.KindTransient, Code: "unreachable", Reason: "sendgrid: request not sent", Err: cause}
	}

	status := resp.StatusCode
	ce := &channels.Error{Code: "http_" + strconv.Itoa(status)}
	field := firstField(resp.Body)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		ce.Kind, ce.Reason = channels.KindPermanent, fmt.Sprintf("sendgrid: HTTP %d: configuration problem (API key permissions or unverified sender)", status)
	case status == http.StatusRequestEntityTooLarge:
		ce.Kind, ce.Reason = channels.KindPermanent, "sendgrid: mail too large"
	case status == http.StatusTooManyRequests:
		ce.Kind, ce.Reason = channels.KindThrottled, "sendgrid: rate limited"
		ce.RetryAfter = c.retryAfter(resp)
	case status >= 500:
		ce.Kind, ce.Reason = channels.KindTransient, fmt.Sprintf("sendgrid: HTTP %d", status)
	case status >= 400:
		ce.Kind, ce.Reason = channels.KindPermanent, fmt.Sprintf("sendgrid: HTTP %d: rejected", status)
	default: // 1xx, 3xx, other 2xx: we cannot tell whether it was taken
		ce.Kind, ce.Reason = channels.KindAmbiguous, fmt.Sprintf("sendgrid: unexpected HTTP %d", status)
	}
	if field != "" {
		// Field names (personalizations.0.to.0.email) are not PHI; the
		// messages are left out in case they quote an address.
		ce.Reason += " (field " + field + ")"
	}
	return channels.Receipt{}, ce
}

func header(resp *rest.Response, key string) string {
	return http.Header(resp.Headers).Get(key)
}

// retryAfter reads Retry-After (seconds or HTTP date), else X-RateLimit-Reset
// (a Unix time); 0 when neither says.
func (c *Channel) retryAfter(resp *rest.Response) time.Duration {
	now := c.opts.Now()
	if v := strings.TrimSpace(header(resp, "Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if v := strings.TrimSpace(header(resp, "X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if d := time.Unix(n, 0).Sub(now); d > 0 {
				return d.Round(time.Second)
			}
		}
	}
	return 0
}

// firstField returns the field of SendGrid's first error, if any.
func firstField(body string) string {
	var e struct {
		Errors []struct {
			Field any `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	f, _ := e.Errors[0].Field.(string)
	if len(f) > 80 {
		f = f[:80]
	}
	return f
}

// Provider implements channels.Named.
func (c *Channel) Provider() string { return Provider }
