package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

const (
	testFrom     = "+15005550006"
	testTo       = "+14155550123"
	testCallback = "https://beckon.example/webhooks/twilio/status"
	testBody     = "Reminder: your appointment is tomorrow at 9:00. Reply C to confirm."
)

var (
	testNow = time.Date(2030, 3, 14, 15, 0, 0, 0, time.UTC)
	sidRE   = regexp.MustCompile(`^SM[0-9a-f]{32}$`)
)

type bundle struct {
	fake *twiliotest.Server
	ch   *Channel
}

func setup(t *testing.T, edit ...func(*Options)) bundle {
	t.Helper()
	fake := twiliotest.New()
	t.Cleanup(fake.Close)
	fake.SetNow(func() time.Time { return testNow })
	opts := Options{
		AccountSID:        twiliotest.AccountSID,
		AuthToken:         twiliotest.AuthToken,
		From:              testFrom,
		StatusCallbackURL: testCallback,
		BaseURL:           fake.URL,
		HTTPTimeout:       5 * time.Second,
		Now:               func() time.Time { return testNow },
	}
	for _, e := range edit {
		e(&opts)
	}
	ch, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return bundle{fake: fake, ch: ch}
}

func msg(sendID string) channels.Message {
	return channels.Message{
		SendID:   sendID,
		ClinicID: "cl_1",
		Channel:  "sms",
		To:       testTo,
		Text:     testBody,
		NotAfter: testNow.Add(time.Hour),
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r, err := b.ch.Send(context.Background(), msg("snd_1"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Provider != "twilio" || !sidRE.MatchString(r.ProviderID) || r.Status != "queued" || r.From != testFrom {
		t.Fatalf("receipt = %+v", r)
	}

	reqs := b.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/2010-04-01/Accounts/"+twiliotest.AccountSID+"/Messages.json" {
		t.Errorf("request = %s %s", req.Method, req.Path)
	}
	wantForm := url.Values{
		"To":             {testTo},
		"From":           {testFrom},
		"Body":           {testBody},
		"StatusCallback": {testCallback + "?send_id=snd_1"},
		"ValidityPeriod": {"3600"},
	}
	if got := req.Form.Encode(); got != wantForm.Encode() {
		t.Errorf("form =\n %s\nwant\n %s", got, wantForm.Encode())
	}
	hr := &http.Request{Header: req.Header}
	if u, p, ok := hr.BasicAuth(); !ok || u != twiliotest.AccountSID || p != twiliotest.AuthToken {
		t.Errorf("basic auth = %q, %v", u, ok)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", ct)
	}
	if ua := req.Header.Get("User-Agent"); !strings.HasPrefix(ua, "twilio-go/") || !strings.HasSuffix(ua, " beckon") {
		t.Errorf("User-Agent = %q", ua)
	}

	got, ok := b.fake.Message(r.ProviderID)
	if !ok || got.To != testTo || got.Body != testBody || got.ValidityPeriod != 3600 {
		t.Errorf("fake message = %+v", got)
	}
}

func TestSendCallbackKeepsQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.StatusCallbackURL = testCallback + "?region=us" })
	if _, err := b.ch.Send(context.Background(), msg("snd/ä 1")); err != nil {
		t.Fatal(err)
	}
	cb, err := url.Parse(b.fake.Requests()[0].Form.Get("StatusCallback"))
	if err != nil {
		t.Fatal(err)
	}
	if cb.Query().Get("send_id") != "snd/ä 1" || cb.Query().Get("region") != "us" {
		t.Errorf("callback = %s", cb)
	}
}

func TestSendValidityPeriod(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name     string
		notAfter time.Time
		want     string // form value; "" = absent
	}{
		{"none", time.Time{}, ""},
		{"half an hour", testNow.Add(30 * time.Minute), "1800"},
		{"under a second", testNow.Add(500 * time.Millisecond), "1"},
		{"rounds down", testNow.Add(90*time.Second + 999*time.Millisecond), "90"},
		{"clamped to 10h", testNow.Add(20 * time.Hour), "36000"},
	} {
		m := msg("snd_" + tc.name)
		m.NotAfter = tc.notAfter
		r, err := b.ch.Send(context.Background(), m)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fm, _ := b.fake.Message(r.ProviderID)
		reqs := b.fake.Requests()
		form := reqs[len(reqs)-1].Form
		if _, has := form["ValidityPeriod"]; has != (tc.want != "") || form.Get("ValidityPeriod") != tc.want {
			t.Errorf("%s: ValidityPeriod = %q (present %v), want %q", tc.name, form.Get("ValidityPeriod"), has, tc.want)
		}
		if tc.want == "" && fm.ValidityPeriod != 0 {
			t.Errorf("%s: fake kept %d", tc.name, fm.ValidityPeriod)
		}
	}
}

func TestSendExpiredIsNotSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := msg("snd_late")
	m.NotAfter = testNow
	_, err := b.ch.Send(context.Background(), m)
	if k := channels.KindOf(err); k != channels.KindPermanent {
		t.Fatalf("kind = %s (%v)", k, err)
	}
	if n := len(b.fake.Requests()); n != 0 {
		t.Fatalf("%d requests, want none", n)
	}
}

func TestSendMessagingService(t *testing.T) {
	t.Parallel()
	const mss = "MG00000000000000000000000000000001"
	b := setup(t, func(o *Options) { o.From, o.MessagingServiceSID = "", mss })
	r, err := b.ch.Send(context.Background(), msg("snd_1"))
	if err != nil {
		t.Fatal(err)
	}
	form := b.fake.Requests()[0].Form
	if form.Get("MessagingServiceSid") != mss || form.Has("From") {
		t.Errorf("form = %v", form)
	}
	if r.Status != "queued" || r.From != "" || !sidRE.MatchString(r.ProviderID) {
		t.Errorf("receipt = %+v", r)
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fail       twiliotest.Failure
		kind       string
		code       string
		optOut     bool
		retryAfter time.Duration
	}{
		{"invalid number", twiliotest.ErrInvalidTo, channels.KindPermanent, "21211", false, 0},
		{"unsubscribed", twiliotest.ErrUnsubscribed, channels.KindPermanent, "21610", true, 0},
		{"not mobile", twiliotest.ErrNotMobile, channels.KindPermanent, "21614", false, 0},
		{"region", twiliotest.Failure{Status: 400, Code: 21408}, channels.KindPermanent, "21408", false, 0},
		{"unknown 4xx code", twiliotest.Failure{Status: 400, Code: 21999}, channels.KindPermanent, "21999", false, 0},
		{"throttled", twiliotest.ErrTooManyRequests, channels.KindThrottled, "20429", false, 7 * time.Second},
		{"429 without code", twiliotest.Failure{Status: 429, RetryAfter: "3"}, channels.KindThrottled, "http_429", false, 3 * time.Second},
		{"queue full", twiliotest.Failure{Status: 400, Code: 21611}, channels.KindThrottled, "21611", false, 0},
		{"server error", twiliotest.ErrInternal, channels.KindTransient, "20500", false, 0},
		{"unknown 5xx code", twiliotest.Failure{Status: 502, Code: 20999}, channels.KindTransient, "20999", false, 0},
		{"html 503 from a proxy", twiliotest.Failure{Status: 503, RawBody: "<html>busy</html>"}, channels.KindTransient, "http_503", false, 0},
		{"html 429 from a proxy", twiliotest.Failure{Status: 429, RawBody: "<html>slow</html>", RetryAfter: "11"}, channels.KindThrottled, "http_429", false, 11 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.FailNext(1, tc.fail)
			_, err := b.ch.Send(context.Background(), msg("snd_1"))
			var ce *channels.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *channels.Error", err)
			}
			if ce.Kind != tc.kind || ce.Code != tc.code || ce.OptOut != tc.optOut || ce.RetryAfter != tc.retryAfter {
				t.Errorf("got kind=%s code=%s optOut=%v retryAfter=%v, want %s %s %v %v",
					ce.Kind, ce.Code, ce.OptOut, ce.RetryAfter, tc.kind, tc.code, tc.optOut, tc.retryAfter)
			}
			assertNoPHI(t, err)
			if n := len(b.fake.Messages()); n != 0 {
				t.Errorf("fake accepted %d messages", n)
			}
		})
	}
}

func TestSendWrongToken(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.AuthToken = "wrongwrongwrong" })
	_, err := b.ch.Send(context.Background(), msg("snd_1"))
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.KindPermanent || ce.Code != "20003" || !strings.Contains(ce.Reason, "auth token") {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), "wrongwrongwrong") {
		t.Error("error carries the token")
	}
}

func TestSendTimeoutIsAmbiguous(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.HTTPTimeout = time.Second }) // long enough to write the request on a loaded machine
	b.fake.DelayNext(1, time.Minute)                                // answered only once the client gave up

	_, err := b.ch.Send(context.Background(), msg("snd_1"))
	if k := channels.KindOf(err); k != channels.KindAmbiguous {
		t.Fatalf("kind = %s (%v)", k, err)
	}
	assertNoPHI(t, err)

	// The message was accepted: the lookup finds it (still queued, no date_sent).
	r, found, err := b.ch.Lookup(context.Background(), msg("snd_1"))
	if err != nil || !found {
		t.Fatalf("lookup = %v, %v", found, err)
	}
	if r.ProviderID != b.fake.Messages()[0].SID {
		t.Errorf("lookup found %s, want %s", r.ProviderID, b.fake.Messages()[0].SID)
	}
}

func TestSendCancelledBeforeWriteIsTransient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.ch.Send(ctx, msg("snd_1"))
	if k := channels.KindOf(err); k != channels.KindTransient {
		t.Fatalf("kind = %s (%v)", k, err)
	}
}

func TestSendConnectionRefusedIsTransient(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	b := setup(t, func(o *Options) { o.BaseURL = dead.URL })
	_, err := b.ch.Send(context.Background(), msg("snd_1"))
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.KindTransient || ce.Code != "unreachable" {
		t.Fatalf("err = %v", err)
	}
	assertNoPHI(t, err)
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 30
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := msg(fmt.Sprintf("snd_%d", i))
			m.Text = fmt.Sprintf("message %d", i)
			r, err := b.ch.Send(context.Background(), m)
			ids[i], errs[i] = r.ProviderID, err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		fm, ok := b.fake.Message(ids[i])
		if !ok || fm.Body != fmt.Sprintf("message %d", i) || !strings.HasSuffix(fm.StatusCallback, fmt.Sprintf("send_id=snd_%d", i)) {
			t.Errorf("send %d: %+v", i, fm)
		}
		if seen[ids[i]] {
			t.Errorf("duplicate sid %s", ids[i])
		}
		seen[ids[i]] = true
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	// An older identical message, outside the window.
	old := time.Date(2030, 3, 10, 9, 0, 0, 0, time.UTC)
	b.fake.SetNow(func() time.Time { return old })
	if _, err := b.ch.Send(ctx, msg("snd_old")); err != nil {
		t.Fatal(err)
	}
	b.fake.SetNow(func() time.Time { return testNow })
	want, err := b.ch.Send(ctx, msg("snd_1"))
	if err != nil {
		t.Fatal(err)
	}
	other := msg("snd_2")
	other.Text = "Another text"
	if _, err := b.ch.Send(ctx, other); err != nil {
		t.Fatal(err)
	}
	b.fake.MarkAllSent()
	before := len(b.fake.Requests())

	r, found, err := b.ch.Lookup(ctx, msg("snd_1"))
	if err != nil || !found {
		t.Fatalf("lookup = %v, %v", found, err)
	}
	if r.ProviderID != want.ProviderID || r.Provider != "twilio" || r.Status != "sent" || r.From != testFrom {
		t.Errorf("receipt = %+v, want sid %s", r, want.ProviderID)
	}
	reqs := b.fake.Requests()[before:]
	if len(reqs) != 1 {
		t.Fatalf("%d list requests, want 1 (found on the first pass)", len(reqs))
	}
	q := reqs[0].Query
	if reqs[0].Method != http.MethodGet || q.Get("To") != testTo || q.Get("From") != testFrom ||
		q.Get("DateSent>") != testNow.Add(-48*time.Hour).Format(time.RFC3339) {
		t.Errorf("list request = %s %v", reqs[0].Method, q)
	}

	// Different text, or another patient: not found (after both passes).
	nf := msg("snd_3")
	nf.Text = "Never sent"
	if _, found, err := b.ch.Lookup(ctx, nf); err != nil || found {
		t.Errorf("lookup of unsent text = %v, %v", found, err)
	}
	nf = msg("snd_4")
	nf.To = "+14155550199"
	if _, found, err := b.ch.Lookup(ctx, nf); err != nil || found {
		t.Errorf("lookup for another number = %v, %v", found, err)
	}
}

func TestLookupPaged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	target, err := b.ch.Send(ctx, msg("snd_first"))
	if err != nil {
		t.Fatal(err)
	}
	// 150 newer messages to the same number push it to the second page.
	for i := range 150 {
		b.fake.SetNow(func() time.Time { return testNow.Add(time.Duration(i+1) * time.Second) })
		m := msg("snd_more")
		m.Text = fmt.Sprintf("filler %d", i)
		if _, err := b.ch.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	r, found, err := b.ch.Lookup(ctx, msg("snd_first"))
	if err != nil || !found || r.ProviderID != target.ProviderID {
		t.Fatalf("lookup = %+v %v %v", r, found, err)
	}
}

func TestLookupErrorsAreClassified(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.FailNext(1, twiliotest.ErrTooManyRequests)
	_, _, err := b.ch.Lookup(context.Background(), msg("snd_1"))
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.KindThrottled || ce.RetryAfter != 7*time.Second {
		t.Fatalf("err = %v", err)
	}
	assertNoPHI(t, err)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{},
		{AccountSID: "AC1", AuthToken: "tok"},
		{AccountSID: "AC1", AuthToken: "to-k", From: testFrom},
		{AccountSID: "AC1", AuthToken: "tok", From: testFrom, BaseURL: "api.twilio.com"},
		{AccountSID: "AC1", AuthToken: "tok", From: testFrom, StatusCallbackURL: "/relative"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		} else if o.AuthToken != "" && strings.Contains(err.Error(), o.AuthToken) {
			t.Errorf("error carries the token: %v", err)
		}
	}
}

// assertNoPHI checks that an error's text carries neither the number nor the body.
func assertNoPHI(t *testing.T, err error) {
	t.Helper()
	s := err.Error()
	for _, phi := range []string{testTo, strings.TrimPrefix(testTo, "+"), "Reminder", twiliotest.AuthToken} {
		if strings.Contains(s, phi) {
			t.Errorf("error text %q contains %q", s, phi)
		}
	}
}
