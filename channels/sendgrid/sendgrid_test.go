package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/sendgrid/sendgridtest"
)

const (
	testFrom = "reminders@clinic.example"
	testTo   = "pat.ient@example.org"
	testSubj = "Your appointment tomorrow"
	testText = "Hello, your appointment is tomorrow at 9:00."
	testHTML = "<p>Hello, your appointment is <b>tomorrow</b> at 9:00.</p>"
)

var (
	testNow = time.Date(2030, 3, 14, 15, 0, 0, 0, time.UTC)
	idRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
)

type bundle struct {
	fake *sendgridtest.Server
	ch   *Channel
}

func setup(t *testing.T, edit ...func(*Options)) bundle {
	t.Helper()
	fake := sendgridtest.New()
	t.Cleanup(fake.Close)
	opts := Options{
		APIKey:      sendgridtest.APIKey,
		From:        testFrom,
		FromName:    "Clinic",
		BaseURL:     fake.URL,
		HTTPTimeout: 5 * time.Second,
		Now:         func() time.Time { return testNow },
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
		Channel:  "email",
		To:       testTo,
		Subject:  testSubj,
		Text:     testText,
		HTML:     testHTML,
	}
}

// wantBody is the exact JSON SendGrid receives for msg(sendID).
func wantBody(sendID, text string) string {
	return `{"from":{"name":"Clinic","email":"` + testFrom + `"},"subject":"` + testSubj + `",` +
		`"personalizations":[{"to":[{"email":"` + testTo + `"}]}],` +
		`"content":[{"type":"text/plain","value":"` + text + `"},` +
		`{"type":"text/html","value":"\u003cp\u003eHello, your appointment is \u003cb\u003etomorrow\u003c/b\u003e at 9:00.\u003c/p\u003e"}],` +
		`"custom_args":{"clinic_id":"cl_1","send_id":"` + sendID + `"}}`
}

func TestSend(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r, err := b.ch.Send(context.Background(), msg("snd_1"))
	if err != nil {
		t.Fatal(err)
	}
	acc := b.fake.Accepted()
	if len(acc) != 1 {
		t.Fatalf("%d accepted, want 1", len(acc))
	}
	if r.Provider != "sendgrid" || r.ProviderID != acc[0].MessageID || !idRE.MatchString(r.ProviderID) || r.Status != "queued" || r.From != testFrom {
		t.Errorf("receipt = %+v", r)
	}

	req := b.fake.Requests()[0]
	if req.Method != http.MethodPost || req.Path != "/v3/mail/send" {
		t.Errorf("request = %s %s", req.Method, req.Path)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer " + sendgridtest.APIKey,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"User-Agent":    "sendgrid/3.16.1;go",
	} {
		if got := req.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := string(req.Body); got != wantBody("snd_1", testText) {
		t.Errorf("body =\n %s\nwant\n %s", got, wantBody("snd_1", testText))
	}
	if cats, ok := req.JSON["categories"]; ok {
		t.Errorf("categories sent: %v", cats)
	}
}

func TestSendHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := msg("snd_1")
	m.Headers = channels.UnsubscribeHeaders("https://beckon.example.org/l/tok")
	if _, err := b.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	acc := b.fake.Accepted()
	if len(acc) != 1 {
		t.Fatalf("%d accepted, want 1", len(acc))
	}
	want := map[string]string{
		"List-Unsubscribe":      "<https://beckon.example.org/l/tok>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	if got := acc[0].Mail.Headers; !maps.Equal(got, want) {
		t.Fatalf("mail headers %v, want %v", got, want)
	}
}

func TestSendTextOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := msg("snd_1")
	m.HTML = ""
	if _, err := b.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	content := b.fake.Accepted()[0].Mail.Content
	if len(content) != 1 || content[0].Type != "text/plain" || content[0].Value != testText {
		t.Errorf("content = %+v", content)
	}
}

func TestSendRejectedLocally(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, edit := range map[string]func(*channels.Message){
		"bad address": func(m *channels.Message) { m.To = "Pat <" + testTo + ">" },
		"no subject":  func(m *channels.Message) { m.Subject = "" },
		"no body":     func(m *channels.Message) { m.Text, m.HTML = "", "" },
	} {
		m := msg("snd_1")
		edit(&m)
		_, err := b.ch.Send(context.Background(), m)
		if k := channels.KindOf(err); k != channels.KindPermanent {
			t.Errorf("%s: kind %s (%v)", name, k, err)
		}
	}
	if n := len(b.fake.Requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fail       sendgridtest.Failure
		kind       string
		code       string
		reason     string // substring
		retryAfter time.Duration
	}{
		{"bad request", sendgridtest.ErrBadRequest, channels.KindPermanent, "http_400", "field personalizations.0.to.0.email", 0},
		{"unauthorized", sendgridtest.Failure{Status: 401}, channels.KindPermanent, "http_401", "configuration", 0},
		{"forbidden sender", sendgridtest.ErrForbidden, channels.KindPermanent, "http_403", "configuration", 0},
		{"too large", sendgridtest.ErrTooLarge, channels.KindPermanent, "http_413", "too large", 0},
		{"rate limited (reset)", sendgridtest.RateLimited(testNow.Add(42 * time.Second)), channels.KindThrottled, "http_429", "rate", 42 * time.Second},
		{"rate limited (retry-after)", sendgridtest.Failure{Status: 429, Headers: map[string]string{"Retry-After": "5"}}, channels.KindThrottled, "http_429", "rate", 5 * time.Second},
		{"rate limited (nothing)", sendgridtest.Failure{Status: 429}, channels.KindThrottled, "http_429", "rate", 0},
		{"server error", sendgridtest.ErrInternal, channels.KindTransient, "http_500", "500", 0},
		{"html 502 from a proxy", sendgridtest.Failure{Status: 502, RawBody: "<html>bad gateway</html>"}, channels.KindTransient, "http_502", "502", 0},
		{"other 4xx", sendgridtest.Failure{Status: 404}, channels.KindPermanent, "http_404", "404", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.FailNext(1, tc.fail)
			_, err := b.ch.Send(context.Background(), msg("snd_1"))
			var ce *channels.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			if ce.Kind != tc.kind || ce.Code != tc.code || !strings.Contains(ce.Reason, tc.reason) || ce.RetryAfter != tc.retryAfter {
				t.Errorf("got %s %s %q %v, want %s %s %q %v", ce.Kind, ce.Code, ce.Reason, ce.RetryAfter, tc.kind, tc.code, tc.reason, tc.retryAfter)
			}
			assertNoPHI(t, err)
		})
	}
}

func TestSendWrongKey(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.APIKey = "SG.wrong.key" })
	_, err := b.ch.Send(context.Background(), msg("snd_1"))
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.KindPermanent || ce.Code != "http_401" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "SG.wrong.key") {
		t.Error("error carries the key")
	}
}

func TestSendTimeoutIsAmbiguous(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.HTTPTimeout = 150 * time.Millisecond })
	b.fake.DelayNext(1, time.Minute)
	_, err := b.ch.Send(context.Background(), msg("snd_1"))
	if k := channels.KindOf(err); k != channels.KindAmbiguous {
		t.Fatalf("kind = %s (%v)", k, err)
	}
	assertNoPHI(t, err)
	if n := len(b.fake.Accepted()); n != 1 {
		t.Errorf("fake accepted %d, want 1 (the answer was lost, not the mail)", n)
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
}

// 50 concurrent sends on one Channel give 50 distinct, correct requests: no
// body shared between sends (the SDK Client.Send bug this package avoids).
func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 50
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := msg(fmt.Sprintf("snd_%02d", i))
			m.Text = fmt.Sprintf("text %02d", i)
			r, err := b.ch.Send(context.Background(), m)
			ids[i], errs[i] = r.ProviderID, err
		})
	}
	wg.Wait()

	bodies := map[string]bool{}
	for _, req := range b.fake.Requests() {
		var mail struct {
			CustomArgs map[string]string `json:"custom_args"`
		}
		if err := json.Unmarshal(req.Body, &mail); err != nil {
			t.Fatal(err)
		}
		id := mail.CustomArgs["send_id"]
		want := wantBody(id, "text "+strings.TrimPrefix(id, "snd_"))
		if string(req.Body) != want {
			t.Errorf("body for %s =\n %s\nwant\n %s", id, req.Body, want)
		}
		bodies[string(req.Body)] = true
	}
	if len(bodies) != n {
		t.Errorf("%d distinct bodies, want %d", len(bodies), n)
	}
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[ids[i]] {
			t.Errorf("duplicate id %s", ids[i])
		}
		seen[ids[i]] = true
	}
	if got := len(b.fake.Accepted()); got != n {
		t.Errorf("%d accepted, want %d", got, n)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{},
		{APIKey: "k"},
		{APIKey: "k", From: "Clinic <a@b.example>"},
		{APIKey: "k", From: testFrom, BaseURL: "api.sendgrid.com"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		}
	}
}

func assertNoPHI(t *testing.T, err error) {
	t.Helper()
	s := err.Error()
	for _, phi := range []string{testTo, "Hello", sendgridtest.APIKey} {
		if strings.Contains(s, phi) {
			t.Errorf("error text %q contains %q", s, phi)
		}
	}
}
