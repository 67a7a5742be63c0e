package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels/sendgrid/sendgridtest"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

// providerApp is Beckon running against the Twilio and SendGrid stand-ins,
// with BECKON_PUBLIC_URL pointing at itself so that status callbacks arrive.
type providerApp struct {
	*app
	tw     *twiliotest.Server
	sg     *sendgridtest.Server
	sgKey  *ecdsa.PrivateKey
	public string
	from   string // this test's own Twilio sender (its own pacing bucket)
}

// freeAddr returns a loopback address nobody listens on (so that the public
// URL can be known before the app starts).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func startProviders(t *testing.T, backend string, extra map[string]string) *providerApp {
	t.Helper()
	return startProvidersWith(t, backend, extra, startAppEnv)
}

// startProvidersClock is startProviders on a clock the test moves
// (startAppClock, app.advanceTo).
func startProvidersClock(t *testing.T, backend string, extra map[string]string) *providerApp {
	t.Helper()
	return startProvidersWith(t, backend, extra, startAppClock)
}

func startProvidersWith(t *testing.T, backend string, extra map[string]string, start func(*testing.T, string, map[string]string) *app) *providerApp {
	t.Helper()
	tw, sg := twiliotest.New(), sendgridtest.New()
	t.Cleanup(tw.Close)
	t.Cleanup(sg.Close)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	addr := freeAddr(t)
	var n [2]byte
	_, _ = rand.Read(n[:])
	p := &providerApp{tw: tw, sg: sg, sgKey: key, public: "http://" + addr,
		from: fmt.Sprintf("+1415666%04d", (int(n[0])<<8|int(n[1]))%10000)}
	env := map[string]string{
		"BECKON_HTTP_ADDR":            addr,
		"BECKON_PUBLIC_URL":           p.public,
		"BECKON_CHANNEL":              "providers",
		"BECKON_TWILIO_ACCOUNT_SID":   twiliotest.AccountSID,
		"BECKON_TWILIO_AUTH_TOKEN":    twiliotest.AuthToken,
		"BECKON_TWILIO_FROM":          p.from,
		"BECKON_TWILIO_BASE_URL":      tw.URL,
		"BECKON_TWILIO_PER_SECOND":    "1000",
		"BECKON_SENDGRID_API_KEY":     sendgridtest.APIKey,
		"BECKON_SENDGRID_FROM":        "clinic@example.org",
		"BECKON_SENDGRID_FROM_NAME":   "Story Clinic",
		"BECKON_SENDGRID_BASE_URL":    sg.URL,
		"BECKON_SENDGRID_WEBHOOK_KEY": base64.StdEncoding.EncodeToString(der),
	}
	for k, v := range extra {
		env[k] = v
	}
	p.app = start(t, backend, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", p.logs.String()) // ids only, no PHI
		}
	})
	p.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
		"name": "Story Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
	}, nil)
	p.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/pat-1", map[string]any{
		"first_name": "Ana", "last_name": "Lopez", "phone": phone, "email": email, "time_zone": "America/Chicago",
	}, nil)
	return p
}

type messageView struct {
	ID         string `json:"id"`
	SendID     string `json:"send_id"`
	Channel    string `json:"channel"`
	Status     string `json:"status"`
	Provider   string `json:"provider"`
	ProviderID string `json:"provider_id"`
	Events     []struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"events"`
}

// message returns the message of a send (with its events), if any.
func (p *providerApp) message(sendID string) (messageView, bool) {
	p.t.Helper()
	var list struct {
		Messages []messageView `json:"messages"`
	}
	p.mustCall(http.StatusOK, http.MethodGet, "/v1/messages?send_id="+url.QueryEscape(sendID), nil, &list)
	if len(list.Messages) == 0 {
		return messageView{}, false
	}
	var m messageView
	p.mustCall(http.StatusOK, http.MethodGet, "/v1/messages/"+list.Messages[0].ID, nil, &m)
	return m, true
}

func (p *providerApp) waitMessage(sendID, status string) messageView {
	p.t.Helper()
	var m messageView
	waitFor(p.t, 30*time.Second, "send "+sendID+" message "+status, func() bool {
		var ok bool
		m, ok = p.message(sendID)
		return ok && m.Status == status
	})
	return m
}

// book creates an appointment starting in `in` and returns its sends.
func (p *providerApp) book(id string, in time.Duration) appointmentView {
	p.t.Helper()
	var appt appointmentView
	p.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/"+id, map[string]any{
		"patient_id": "pat-1", "start": rfc(p.now().Add(in).Truncate(time.Second)), "type": "checkup",
	}, &appt)
	return appt
}

func (p *providerApp) appointment(id string) appointmentView {
	p.t.Helper()
	var appt appointmentView
	p.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/"+id, nil, &appt)
	return appt
}

func (p *providerApp) waitSend(apptID, sendID string, statuses ...string) sendView {
	p.t.Helper()
	var s sendView
	waitFor(p.t, 45*time.Second, "send "+sendID+" to be "+strings.Join(statuses, "/"), func() bool {
		for _, x := range p.appointment(apptID).Sends {
			if x.ID == sendID {
				s = x
				for _, st := range statuses {
					if x.Status == st {
						return true
					}
				}
			}
		}
		return false
	})
	return s
}

// creates returns the Messages.json create requests the Twilio stand-in received.
func creates(tw *twiliotest.Server) []twiliotest.Request {
	var out []twiliotest.Request
	for _, r := range tw.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/Messages.json") {
			out = append(out, r)
		}
	}
	return out
}

// postEvents signs and posts a SendGrid event batch.
func (p *providerApp) postEvents(events []map[string]any, sign func(body []byte, ts string) string) int {
	p.t.Helper()
	return p.postEventsTo("/webhooks/sendgrid/events", events, sign)
}

// postEventsTo signs and posts a SendGrid event batch to path.
func (p *providerApp) postEventsTo(path string, events []map[string]any, sign func(body []byte, ts string) string) int {
	p.t.Helper()
	body, _ := json.Marshal(events)
	body = append(body, '\r', '\n')
	ts := strconv.FormatInt(p.now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, p.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sign(body, ts))
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (p *providerApp) signSG(body []byte, ts string) string {
	return signEvents(p.t, p.sgKey, body, ts)
}

// signEvents is SendGrid's signature of an event batch with key.
func signEvents(t *testing.T, key *ecdsa.PrivateKey, body []byte, ts string) string {
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// TestProvidersDeliver is the core story through Twilio and SendGrid: the
// exact requests, signed status callbacks moving each message to delivered,
// forged and replayed callbacks changing nothing.
func TestProvidersDeliver(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProvidersClock(t, backend, nil)
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/story", map[string]any{
				"name": "Story",
				"steps": []map[string]any{
					{"id": "sms", "offset": "-8s", "channel": "sms", "content": map[string]any{
						"en": map[string]any{"text": "Hi {{.Patient.FirstName}}, reminder for {{.Appointment.Type}} at {{.Clinic.Name}}."},
					}},
					{"id": "email", "offset": "-7s", "channel": "email", "content": map[string]any{
						"en": map[string]any{"subject": "Your {{.Appointment.Type}}", "text": "Hi {{.Patient.FirstName}}.", "html": "<p>Hi {{.Patient.FirstName}}.</p>"},
					}},
				},
			}, nil)
			appt := p.book("apt-1", 12*time.Second)
			smsSend, emailSend := appt.send("sms", 1), appt.send("email", 1)
			p.advanceTo(emailSend.DueAt) // the SMS's too, a second before

			// SMS: exactly what Twilio expects.
			sms := p.waitMessage(smsSend.ID, "queued")
			cs := creates(p.tw)
			if len(cs) != 1 {
				t.Fatalf("twilio got %d creates, want 1", len(cs))
			}
			f := cs[0].Form
			wantCallback := p.public + "/webhooks/twilio/status?clinic_id=" + p.m.App.DemoClinicID + "&send_id=" + smsSend.ID
			if cs[0].Path != "/2010-04-01/Accounts/"+twiliotest.AccountSID+"/Messages.json" ||
				f.Get("To") != phone || f.Get("From") != p.from ||
				f.Get("Body") != "Hi Ana, reminder for checkup at Story Clinic." ||
				f.Get("StatusCallback") != wantCallback {
				t.Fatalf("twilio request %s %v", cs[0].Path, f)
			}
			if v, _ := strconv.Atoi(f.Get("ValidityPeriod")); v < 1 || v > 12 {
				t.Fatalf("ValidityPeriod %q, want the seconds left before the appointment", f.Get("ValidityPeriod"))
			}
			msgs := p.tw.Messages()
			if sms.Provider != "twilio" || sms.ProviderID != msgs[0].SID {
				t.Fatalf("message %+v, want twilio %s", sms, msgs[0].SID)
			}

			// Email: exactly what SendGrid expects.
			em := p.waitMessage(emailSend.ID, "queued")
			acc := p.sg.Accepted()
			if len(acc) != 1 {
				t.Fatalf("sendgrid accepted %d, want 1", len(acc))
			}
			mail := acc[0].Mail
			if len(mail.Personalizations) != 1 || len(mail.Personalizations[0].To) != 1 || mail.Personalizations[0].To[0].Email != email ||
				mail.From == nil || mail.From.Email != "clinic@example.org" || mail.From.Name != "Story Clinic" ||
				mail.Subject != "Your checkup" || len(mail.Content) != 2 ||
				mail.Content[0] != (sendgridtest.Content{Type: "text/plain", Value: "Hi Ana."}) ||
				mail.Content[1] != (sendgridtest.Content{Type: "text/html", Value: "<p>Hi Ana.</p>"}) ||
				mail.CustomArgs["send_id"] != emailSend.ID || mail.CustomArgs["clinic_id"] != p.m.App.DemoClinicID {
				t.Fatalf("sendgrid mail %+v", mail)
			}
			if em.Provider != "sendgrid" || em.ProviderID != acc[0].MessageID {
				t.Fatalf("message %+v, want sendgrid %s", em, acc[0].MessageID)
			}

			// Signed callbacks move both to delivered.
			ctx := context.Background()
			for _, st := range []string{"delivered", "sent"} { // out of order: sent must not win
				if code, err := p.tw.PostStatus(ctx, twiliotest.Callback{SID: msgs[0].SID, Status: st}); err != nil || code != http.StatusNoContent {
					t.Fatalf("status %s: %d %v", st, code, err)
				}
			}
			sms = p.waitMessage(smsSend.ID, "delivered")
			events := []map[string]any{
				{"email": email, "timestamp": p.now().Unix(), "event": "processed", "sg_event_id": "ev-1", "sg_message_id": acc[0].MessageID + ".filter0001.1", "send_id": emailSend.ID, "clinic_id": p.m.App.DemoClinicID},
				{"email": email, "timestamp": p.now().Unix(), "event": "delivered", "sg_event_id": "ev-2", "sg_message_id": acc[0].MessageID + ".filter0001.1", "send_id": emailSend.ID, "clinic_id": p.m.App.DemoClinicID},
			}
			if code := p.postEvents(events, p.signSG); code != http.StatusNoContent {
				t.Fatalf("events: %d", code)
			}
			em = p.waitMessage(emailSend.ID, "delivered")

			waitFor(t, 10*time.Second, "both callbacks in the history", func() bool {
				sms, _ = p.message(smsSend.ID)
				return len(sms.Events) == 3 // queued, delivered, sent
			})
			if sms.Status != "delivered" {
				t.Fatalf("sms status %s after a late sent, want delivered", sms.Status)
			}
			// Forged, missing and replayed callbacks change nothing.
			if code, err := p.tw.PostStatus(ctx, twiliotest.Callback{SID: msgs[0].SID, Status: "delivered"}); err != nil || code != http.StatusNoContent {
				t.Fatalf("replayed delivered: %d %v", code, err)
			}
			smsEvents := len(sms.Events)
			form := url.Values{"MessageSid": {msgs[0].SID}, "MessageStatus": {"failed"}, "AccountSid": {twiliotest.AccountSID}}
			target := wantCallback
			for name, sig := range map[string]string{
				"wrong":   twiliotest.Sign("ffffffffffffffffffffffffffffffff", target, form),
				"missing": "",
			} {
				req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if sig != "" {
					req.Header.Set("X-Twilio-Signature", sig)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var e struct {
					Status int    `json:"status"`
					Code   string `json:"code"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden || e.Code != "forbidden" {
					t.Fatalf("%s signature: %d %+v, want 403 forbidden", name, resp.StatusCode, e)
				}
			}
			if code := p.postEvents([]map[string]any{{"event": "bounce", "sg_event_id": "ev-x", "send_id": emailSend.ID, "clinic_id": p.m.App.DemoClinicID}},
				func([]byte, string) string { return p.signSG([]byte("other body"), "1") }); code != http.StatusForbidden {
				t.Fatalf("forged events: %d, want 403", code)
			}
			if code := p.postEvents(events, p.signSG); code != http.StatusNoContent { // replay
				t.Fatalf("replayed events: %d", code)
			}
			// A callback that would change something, posted after the replay
			// and the forgeries, shows that they were all handled first.
			if code := p.postEvents([]map[string]any{{"event": "open", "sg_event_id": "ev-3", "timestamp": p.now().Unix(), "send_id": emailSend.ID, "clinic_id": p.m.App.DemoClinicID}}, p.signSG); code != http.StatusNoContent {
				t.Fatalf("open event: %d", code)
			}
			waitFor(t, 10*time.Second, "the open event", func() bool {
				m, _ := p.message(emailSend.ID)
				for _, e := range m.Events {
					if e.Status == "open" {
						return true
					}
				}
				return false
			})
			sms, _ = p.message(smsSend.ID)
			em, _ = p.message(emailSend.ID)
			if sms.Status != "delivered" || len(sms.Events) != smsEvents {
				t.Fatalf("sms after forgeries: %+v", sms)
			}
			// queued, sent (processed), delivered, open: the replay added nothing.
			if em.Status != "delivered" || len(em.Events) != 4 {
				t.Fatalf("email after replay: %+v", em)
			}
			if n := len(creates(p.tw)); n != 1 {
				t.Fatalf("twilio got %d creates", n)
			}
			assertNoPHI(t, p.logs.String(), phone, email, "Hi Ana", twiliotest.AuthToken, sendgridtest.APIKey)
		})
	}
}

// TestProvidersUndeliveredFallsBackOnce: an undelivered SMS (30003) makes one
// email, however many failure callbacks follow.
func TestProvidersUndeliveredFallsBackOnce(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProvidersClock(t, backend, nil)
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/fb", map[string]any{
				"name": "Fallback",
				"steps": []map[string]any{{"id": "sms", "offset": "-10s", "channel": "sms", "fallback": true,
					"content": map[string]any{"en": map[string]any{"subject": "Reminder", "text": "Hi {{.Patient.FirstName}}, see you soon."}}}},
			}, nil)
			appt := p.book("apt-fb", 14*time.Second)
			s := appt.send("sms", 1)
			p.advanceTo(s.DueAt)
			p.waitMessage(s.ID, "queued")
			sid := p.tw.Messages()[0].SID
			ctx := context.Background()
			for _, st := range []string{"undelivered", "failed"} {
				if code, err := p.tw.PostStatus(ctx, twiliotest.Callback{SID: sid, Status: st, ErrorCode: 30003}); err != nil || code != http.StatusNoContent {
					t.Fatalf("%s: %d %v", st, code, err)
				}
			}
			fb := p.waitSend("apt-fb", s.ID+"~fallback", "sent")
			waitFor(t, 10*time.Second, "the fallback email", func() bool { return len(p.sg.Accepted()) == 1 })
			mail := p.sg.Accepted()[0].Mail
			if mail.Personalizations[0].To[0].Email != email || mail.Subject != "Reminder" || mail.CustomArgs["send_id"] != fb.ID {
				t.Fatalf("fallback mail %+v", mail)
			}
			// The two callbacks may be applied in either order; both are kept.
			waitFor(t, 10*time.Second, "both failure callbacks in the sms history", func() bool {
				m, _ := p.message(s.ID)
				return len(m.Events) == 3 && (m.Status == "undelivered" || m.Status == "failed")
			})
			// Give a second fallback every chance to appear, then check there is none.
			p.waitTasksGone(s.ID + "~fallback")
			if n, c := len(p.sg.Accepted()), len(creates(p.tw)); n != 1 || c != 1 {
				t.Fatalf("%d emails and %d SMS, want one of each", n, c)
			}
		})
	}
}

// TestProvidersFailures: a 429 storm and a run of 500s lose nothing and send
// nothing twice; a permanent error ends the send with its reason, no retry.
func TestProvidersFailures(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProvidersClock(t, backend, nil)
			steps := []map[string]any{}
			for i := range 4 {
				steps = append(steps, map[string]any{"id": fmt.Sprintf("sms-%d", i), "offset": "-25s", "channel": "sms",
					"content": map[string]any{"en": map[string]any{"text": fmt.Sprintf("Reminder %d for {{.Patient.FirstName}}", i)}}})
			}
			steps = append(steps, map[string]any{"id": "email", "offset": "-25s", "channel": "email",
				"content": map[string]any{"en": map[string]any{"subject": "Reminder", "text": "Hi {{.Patient.FirstName}}"}}})
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/storm", map[string]any{"name": "Storm", "steps": steps}, nil)
			throttled := twiliotest.Failure{Status: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "1"}
			p.tw.FailNext(6, throttled)
			p.tw.FailNext(3, twiliotest.ErrInternal)
			p.tw.FailNext(1, twiliotest.ErrServiceUnavailable)
			p.sg.FailNext(2, sendgridtest.RateLimited(p.now().Add(time.Second)))
			p.sg.FailNext(2, sendgridtest.ErrInternal)
			appt := p.book("apt-storm", 30*time.Second)
			// Due now; from here the clock runs, for the retries' delays.
			p.advanceTo(appt.Sends[0].DueAt)
			p.runClock()
			for _, s := range appt.Sends {
				p.waitSend("apt-storm", s.ID, "sent")
			}
			msgs := p.tw.Messages()
			bodies := map[string]int{}
			for _, m := range msgs {
				bodies[m.Body]++
			}
			if len(msgs) != 4 || len(bodies) != 4 {
				t.Fatalf("twilio accepted %d messages (%v), want 4 distinct", len(msgs), bodies)
			}
			if n := len(p.sg.Accepted()); n != 1 {
				t.Fatalf("sendgrid accepted %d, want 1", n)
			}
			if n := len(creates(p.tw)); n != 4+10 {
				t.Fatalf("twilio got %d creates, want 14 (10 refused, 4 accepted)", n)
			}

			// Permanent: one request, the send ends with the reason.
			// Its own appointment type, so that the storm's appointment gets no send of it.
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/perm", map[string]any{"name": "Perm",
				"match": map[string]any{"types": []string{"permanent"}},
				"steps": []map[string]any{
					{"id": "one", "offset": "-10s", "channel": "sms", "content": map[string]any{"en": map[string]any{"text": "Hi {{.Patient.FirstName}}"}}},
				}}, nil)
			before := len(creates(p.tw))
			p.tw.FailNext(1, twiliotest.ErrInvalidTo)
			var perm appointmentView
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/apt-perm", map[string]any{
				"patient_id": "pat-1", "start": rfc(p.now().Add(12 * time.Second).Truncate(time.Second)), "type": "permanent",
			}, &perm)
			var one sendView
			for _, s := range perm.Sends {
				if s.StepID == "one" {
					one = s
				}
			}
			if one.ID == "" {
				t.Fatalf("sends %+v, want the step of the permanent campaign", perm.Sends)
			}
			got := p.waitSend("apt-perm", one.ID, "failed")
			if !strings.Contains(got.Reason, "invalid To number") {
				t.Fatalf("reason %q", got.Reason)
			}
			p.waitTasksGone(one.ID)
			if n := len(creates(p.tw)) - before; n != 1 {
				t.Fatalf("%d requests for the permanent failure, want 1 (no retry)", n)
			}
			assertNoPHI(t, p.logs.String(), phone, email)
		})
	}
}

// TestProvidersPacing: 4 workers share a sender limited to 10 messages/s; 60
// sends due at once are spread over at least 5 s and never more than 10 per
// second, by the stand-in's request times. Those times are taken after the
// pacing slot, so they carry the jitter of a loaded machine (a request granted
// its slot at 0.9 s can arrive after one granted at 1.0 s): a window counts at
// most 10/s plus paceJitter's worth of sends. A limit that is not shared by
// the workers (40/s) or not applied fails either check. Not parallel: the
// request times are measured, so the test runs before the parallel ones.
func TestProvidersPacing(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			p := startProvidersClock(t, backend, map[string]string{
				"BECKON_CONCURRENCY":       "4",
				"BECKON_TWILIO_PER_SECOND": "10",
			})
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/pace", map[string]any{"name": "Pace", "steps": []map[string]any{
				{"id": "one", "offset": "-40s", "channel": "sms", "content": map[string]any{"en": map[string]any{"text": "Hi {{.Patient.FirstName}}"}}},
			}}, nil)
			// All 60 due at once: the test moves the clock there (and the
			// clock stays there while they go, so none comes too close to
			// its appointment's start to be sent).
			start := p.now().Add(44 * time.Second).Truncate(time.Second)
			var appts []map[string]any
			for i := range 60 {
				appts = append(appts, map[string]any{"id": fmt.Sprintf("apt-%02d", i), "patient_id": "pat-1", "start": rfc(start)})
			}
			p.mustCall(http.StatusOK, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": appts}, nil)
			p.advanceTo(start.Add(-40 * time.Second))
			waitFor(t, 60*time.Second, "60 messages", func() bool { return len(p.tw.Messages()) >= 60 })
			cs := creates(p.tw)
			if len(cs) != 60 || len(p.tw.Messages()) != 60 {
				t.Fatalf("%d creates, %d messages, want 60", len(cs), len(p.tw.Messages()))
			}
			times := make([]time.Time, len(cs))
			for i, r := range cs {
				times[i] = r.Time
			}
			sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
			if span := times[59].Sub(times[0]); span < 5*time.Second {
				t.Fatalf("60 sends within %s, want at least 5s", span)
			}
			const window, paceJitter = 2 * time.Second, 500 * time.Millisecond
			limit := int((window + paceJitter).Seconds() * 10)
			for i := range times {
				n := 0
				for j := i; j < len(times) && times[j].Sub(times[i]) < window; j++ {
					n++
				}
				if n > limit {
					t.Fatalf("%d sends in the %s from %s, want at most %d", n, window, times[i].Format(time.StampMilli), limit)
				}
			}
		})
	}
}

// TestProvidersCrashBetweenCallAndRecord: Twilio takes the message but the
// answer is lost (the worker gives up waiting, as if it had crashed before
// recording): the claim is resolved by asking Twilio, and there is one
// message, recorded. SendGrid cannot be asked: the send is recorded unknown,
// with the reason.
func TestProvidersCrashBetweenCallAndRecord(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProvidersClock(t, backend, map[string]string{
				"BECKON_PROVIDER_TIMEOUT": "1s",
				"BECKON_CLAIM_TIMEOUT":    "3s",
			})
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/crash", map[string]any{"name": "Crash", "steps": []map[string]any{
				{"id": "sms", "offset": "-30s", "channel": "sms", "content": map[string]any{"en": map[string]any{"text": "Hi {{.Patient.FirstName}}"}}},
				{"id": "email", "offset": "-30s", "channel": "email", "content": map[string]any{"en": map[string]any{"subject": "S", "text": "Hi {{.Patient.FirstName}}"}}},
			}}, nil)
			p.tw.DelayNext(1, 3*time.Second)
			p.sg.DelayNext(1, 3*time.Second)
			appt := p.book("apt-crash", 34*time.Second)
			smsSend, emailSend := appt.send("sms", 1), appt.send("email", 1)
			// Due now; from here the clock runs, for the claim timeout.
			p.advanceTo(smsSend.DueAt)
			p.runClock()
			got := p.waitSend("apt-crash", smsSend.ID, "sent")
			m := p.waitMessage(smsSend.ID, "queued")
			msgs := p.tw.Messages()
			if len(msgs) != 1 || m.ProviderID != msgs[0].SID {
				t.Fatalf("twilio has %d messages; recorded %+v (send %+v)", len(msgs), m, got)
			}
			// SendGrid took the email after Beckon stopped waiting: the
			// outcome is unknown until its event names the send.
			waitFor(t, 45*time.Second, "sendgrid to get the email", func() bool { return len(p.sg.Accepted()) > 0 })
			acc := p.sg.Accepted()
			events := []map[string]any{{"timestamp": p.now().Unix(), "event": "processed", "sg_event_id": "ev-crash",
				"sg_message_id": acc[0].MessageID + ".filter0001.1", "send_id": emailSend.ID, "clinic_id": p.m.App.DemoClinicID}}
			if code := p.postEvents(events, p.signSG); code != http.StatusNoContent {
				t.Fatalf("events: %d", code)
			}
			p.waitSend("apt-crash", emailSend.ID, "sent")
			em := p.waitMessage(emailSend.ID, "sent")
			if em.ProviderID != acc[0].MessageID {
				t.Fatalf("email recorded with provider id %q, want SendGrid's %q", em.ProviderID, acc[0].MessageID)
			}
			if n := len(p.sg.Accepted()); n != 1 {
				t.Fatalf("sendgrid accepted %d, want 1 (never resent blindly)", n)
			}
		})
	}
}
