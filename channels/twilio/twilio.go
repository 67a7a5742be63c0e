// Package twilio delivers SMS through Twilio's Programmable Messaging API with
// the official SDK (github.com/twilio/twilio-go).
//
// The SDK takes no context and hides the HTTP response of an error, so every
// call gets its own small http.Client whose transport (the SDK's documented
// seam, client.Client.HTTPClient) binds the caller's context and timeout,
// points the request at Options.BaseURL, and remembers whether the request
// was written and what status and headers came back. Errors are classified
// from that in one place (classify).
package twilio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/beckonhealth/beckon/channels"
)

// Provider is the Receipt.Provider of this channel.
const Provider = "twilio"

// SendIDParam is the query parameter appended to StatusCallbackURL that
// carries the send id back in Twilio's status callback.
const SendIDParam = "send_id"

// DefaultBaseURL is Twilio's API.
const DefaultBaseURL = "https://api.twilio.com"

// Receipt statuses: the values of statusQueued, MessageSent and
// MessageDelivered, spelled out so that this package does not import the
// store (and its database drivers).
const (
	statusQueued    = "queued"
	statusSent      = "sent"
	statusDelivered = "delivered"
)

// maxValidity is Twilio's largest ValidityPeriod, in seconds (10 hours).
const maxValidity = 36000

// Options configure a Channel.
type Options struct {
	AccountSID string // required
	AuthToken  string // required; never logged
	// From is the sender, E.164 (or a short code). One of From and
	// MessagingServiceSID is required; when both are set, both are sent and
	// Twilio uses From.
	From                string
	MessagingServiceSID string
	// StatusCallbackURL is Beckon's public URL for /webhooks/twilio/status.
	// Each send appends ?send_id=<id>. Empty: no status callbacks.
	StatusCallbackURL string
	// BaseURL replaces https://api.twilio.com (a test double, a proxy).
	// Default: DefaultBaseURL, left untouched so TWILIO_EDGE/REGION still work.
	BaseURL string
	// HTTPTimeout bounds one API call, body included. Default: 10s.
	HTTPTimeout time.Duration
	// Transport is the base round tripper. Default: http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock for validity periods and lookups. Default: time.Now.
	Now func() time.Time
	// LookupWindow is how far back Lookup searches. Default: 48h.
	LookupWindow time.Duration
}

// Channel sends SMS through Twilio. It is safe for concurrent use.
type Channel struct {
	opts     Options
	target   *url.URL // nil: no rewrite
	callback *url.URL // nil: no status callback
}

var (
	_ channels.Channel = (*Channel)(nil)
	_ channels.Looker  = (*Channel)(nil)
)

// New checks opts and returns a Channel.
func New(opts Options) (*Channel, error) {
	opts.BaseURL = cmp.Or(opts.BaseURL, DefaultBaseURL)
	opts.HTTPTimeout = cmp.Or(opts.HTTPTimeout, 10*time.Second)
	opts.LookupWindow = cmp.Or(opts.LookupWindow, 48*time.Hour)
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Channel{opts: opts}
	if strings.TrimRight(opts.BaseURL, "/") != DefaultBaseURL {
		u, _ := url.Parse(opts.BaseURL) // checked by validate
		c.target = u
	}
	if opts.StatusCallbackURL != "" {
		c.callback, _ = url.Parse(opts.StatusCallbackURL) // checked by validate
	}
	return c, nil
}

func (o Options) validate() error {
	var errs []error
	if o.AccountSID == "" || o.AuthToken == "" {
		errs = append(errs, errors.New("twilio: AccountSID and AuthToken are required"))
	}
	if !alnum(o.AccountSID) || !alnum(o.AuthToken) {
		errs = append(errs, errors.New("twilio: AccountSID and AuthToken must be alphanumeric"))
	}
	if o.From == "" && o.MessagingServiceSID == "" {
		errs = append(errs, errors.New("twilio: From or MessagingServiceSID is required"))
	}
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("twilio: BaseURL must be an absolute http(s) URL"))
	}
	if o.StatusCallbackURL != "" {
		if u, err := url.Parse(o.StatusCallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("twilio: StatusCallbackURL must be an absolute http(s) URL"))
		}
	}
	if o.HTTPTimeout < 0 || o.LookupWindow < 0 {
		errs = append(errs, errors.New("twilio: HTTPTimeout and LookupWindow must be positive"))
	}
	return errors.Join(errs...)
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Send creates the message. The error, if any, is a *channels.Error.
func (c *Channel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if m.To == "" || m.Text == "" {
		return channels.Receipt{}, &channels.Error{Kind: channels.KindPermanent, Code: "invalid_message", Reason: "twilio: message needs To and Text"}
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To)
	p.SetBody(m.Text)
	if c.opts.From != "" {
		p.SetFrom(c.opts.From)
	}
	if c.opts.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(c.opts.MessagingServiceSID)
	}
	if c.callback != nil && m.SendID != "" {
		p.SetStatusCallback(c.callbackURL(m.SendID))
	}
	if !m.NotAfter.IsZero() {
		left := m.NotAfter.Sub(c.opts.Now())
		if left <= 0 {
			return channels.Receipt{}, &channels.Error{Kind: channels.KindPermanent, Code: "expired", Reason: "twilio: message is past its NotAfter"}
		}
		p.SetValidityPeriod(validity(left))
	}

	ctx, cancel := context.WithTimeout(ctx, c.opts.HTTPTimeout)
	defer cancel()
	api, call := c.api(ctx)
	msg, err := api.CreateMessage(p)
	if err != nil {
		return channels.Receipt{}, classify(err, call)
	}
	r := channels.Receipt{
		Provider: Provider,
		Status:   receiptStatus(deref(msg.Status)),
		From:     cmp.Or(deref(msg.From), c.opts.From),
	}
	r.ProviderID = deref(msg.Sid)
	if r.ProviderID == "" {
		// 2xx without a SID: accepted, but we cannot say which message it is.
		return channels.Receipt{}, &channels.Error{Kind: channels.KindAmbiguous, Code: "no_sid", Reason: "twilio: accepted without a message SID"}
	}
	return r, nil
}

// validity converts the time left into Twilio's ValidityPeriod (1..36000 s).
func validity(left time.Duration) int {
	s := int(left / time.Second)
	return max(1, min(s, maxValidity))
}

func (c *Channel) callbackURL(sendID string) string {
	u := *c.callback
	q := u.Query()
	q.Set(SendIDParam, sendID)
	u.RawQuery = q.Encode()
	return u.String()
}

// receiptStatus maps Twilio's message status to a store message status.
func receiptStatus(s string) string {
	switch s {
	case "sending", "sent":
		return statusSent
	case "delivered":
		return statusDelivered
	default: // accepted, scheduled, queued
		return statusQueued
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// api returns an SDK service whose HTTP calls run under ctx, and the record
// of what happened on the wire.
func (c *Channel) api(ctx context.Context) (*openapi.ApiService, *call) {
	cl := &call{ctx: ctx, base: c.opts.Transport, target: c.target}
	tc := &twclient.Client{
		Credentials: twclient.NewCredentials(c.opts.AccountSID, c.opts.AuthToken),
		HTTPClient: &http.Client{
			Transport: cl,
			// The deadline is on ctx; no client timeout that would replace it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		UserAgentExtensions: []string{"beckon"},
	}
	tc.SetAccountSid(c.opts.AccountSID)
	return openapi.NewApiServiceWithClient(tc), cl
}

// call is the transport of one API call (a send, or a lookup's pages).
type call struct {
	ctx    context.Context
	base   http.RoundTripper
	target *url.URL

	mu     sync.Mutex
	wrote  bool // the last request was written in full
	status int  // the last response's status, 0 if none
	header http.Header
}

func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.wrote, c.status, c.header = false, 0, nil
	c.mu.Unlock()
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				c.mu.Lock()
				c.wrote = true
				c.mu.Unlock()
			}
		},
	}
	r := req.Clone(httptrace.WithClientTrace(c.ctx, trace))
	if c.target != nil {
		r.URL.Scheme = c.target.Scheme
		r.URL.Host = c.target.Host
		if p := strings.TrimRight(c.target.Path, "/"); p != "" {
			r.URL.Path = p + r.URL.Path
			r.URL.RawPath = ""
		}
		r.Host = ""
	}
	resp, err := c.base.RoundTrip(r)
	if resp != nil {
		c.mu.Lock()
		c.status, c.header = resp.StatusCode, resp.Header.Clone()
		c.mu.Unlock()
	}
	return resp, err
}

func (c *call) state() (wrote bool, status int, header http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrote, c.status, c.header
}

// Error classification: the one table.

// Twilio error codes that answer a create synchronously.
var codeKinds = map[int]struct {
	kind   string
	reason string
}{
	20003: {channels.KindPermanent, "authentication failed: check the account SID and auth token"},
	20404: {channels.KindPermanent, "resource not found: check the account SID and base URL"},
	20429: {channels.KindThrottled, "too many requests"},
	20500: {channels.KindTransient, "Twilio internal error"},
	20503: {channels.KindTransient, "Twilio service unavailable"},
	14107: {channels.KindThrottled, "SMS send rate limit exceeded"},
	21211: {channels.KindPermanent, "invalid To number"},
	21212: {channels.KindPermanent, "invalid From number: check configuration"},
	21214: {channels.KindPermanent, "To number cannot be reached"},
	21408: {channels.KindPermanent, "sending to this region is not enabled"},
	21602: {channels.KindPermanent, "message body is required"},
	21603: {channels.KindPermanent, "From is required: check configuration"},
	21604: {channels.KindPermanent, "To is required"},
	21606: {channels.KindPermanent, "From number cannot send SMS: check configuration"},
	21608: {channels.KindPermanent, "trial account: To number is not verified"},
	21610: {channels.KindPermanent, "recipient unsubscribed (STOP)"},
	21611: {channels.KindThrottled, "sender queue is full"},
	21612: {channels.KindPermanent, "cannot route between these numbers"},
	21614: {channels.KindPermanent, "To number is not a mobile number"},
	21617: {channels.KindPermanent, "message body too long"},
	21623: {channels.KindPermanent, "invalid validity period"},
	21701: {channels.KindPermanent, "invalid messaging service: check configuration"},
}

// classify turns an SDK error into a *channels.Error. No PHI: Twilio's error
// messages can quote the number, so only codes, statuses and the transport
// error's cause are kept.
func classify(err error, cl *call) *channels.Error {
	wrote, status, header := cl.state()

	var te *twclient.TwilioRestError
	if errors.As(err, &te) {
		status = cmp.Or(status, te.Status)
		clean := &twclient.TwilioRestError{Code: te.Code, Status: te.Status, MoreInfo: te.MoreInfo}
		ce := &channels.Error{Code: fmt.Sprint(te.Code), Err: clean}
		if k, ok := codeKinds[te.Code]; ok {
			ce.Kind, ce.Reason = k.kind, "twilio: "+k.reason
		} else {
			ce.Kind, ce.Reason = kindOfStatus(status), fmt.Sprintf("twilio: error %d (HTTP %d)", te.Code, status)
		}
		if te.Code == 0 {
			ce.Code = fmt.Sprintf("http_%d", status)
		}
		if status == http.StatusTooManyRequests {
			ce.Kind = channels.KindThrottled
		}
		ce.OptOut = te.Code == 21610
		if ce.Kind == channels.KindThrottled {
			ce.RetryAfter = retryAfter(header, time.Now())
		}
		return ce
	}

	if status >= 400 {
		// An error status whose body the SDK could not decode (a proxy's HTML).
		ce := &channels.Error{
			Kind:   kindOfStatus(status),
			Code:   fmt.Sprintf("http_%d", status),
			Reason: fmt.Sprintf("twilio: HTTP %d with an unreadable body", status),
		}
		if ce.Kind == channels.KindThrottled {
			ce.RetryAfter = retryAfter(header, time.Now())
		}
		return ce
	}

	cause := transportCause(err)
	if status != 0 {
		// Accepted, but the answer could not be read in full.
		return &channels.Error{Kind: channels.KindAmbiguous, Code: "bad_response", Reason: "twilio: accepted but the response could not be read", Err: cause}
	}
	if wrote {
		return &channels.Error{Kind: channels.KindAmbiguous, Code: "no_response", Reason: "twilio: request sent, no response (timeout or reset)", Err: cause}
	}
	return &channels.Error{Kind: channels.KindTransient, Code: "unreachable", Reason: "twilio: request not sent", Err: cause}
}

func kindOfStatus(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return channels.KindThrottled
	case status >= 500:
		return channels.KindTransient
	case status >= 400:
		return channels.KindPermanent
	default:
		return channels.KindAmbiguous
	}
}

// transportCause strips the URL from a *url.Error: list URLs carry the
// patient's number in the query.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter reads Retry-After (seconds or an HTTP date); 0 when absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Provider implements channels.Named.
func (c *Channel) Provider() string { return Provider }
