package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/webhooksig/webhooksigtest"
)

// TestReplyThroughTwilio is the two-way story on the real program against
// the Twilio stand-in: a reminder goes out; the patient answers "yes I'll be
// there" through the signed incoming-message webhook, which Twilio posts
// three times (its retries); the appointment is confirmed once, the
// reminder for the unconfirmed is skipped, a signed appointment.confirmed
// reaches the clinic's endpoint (checked as the Standard Webhooks
// specification says), and the patient gets one confirmation answer. The
// interpretation task handed to asynq again changes nothing. A forged
// webhook gets 403 and is not kept.
func TestReplyThroughTwilio(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProvidersClock(t, backend, nil)
			const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
			recv := webhooksigtest.NewReceiver(t, secret, p.now, nil)
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/webhooks/ehr", map[string]any{
				"url": recv.URL + "/beckon", "secret": secret, "event_types": []string{beckon.EventAppointmentConfirmed},
			}, nil)
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/replies", map[string]any{
				"name": "Replies",
				"steps": []map[string]any{
					{"id": "ask", "offset": "-30m", "channel": "sms", "template": "appointment_reminder_confirm"},
					{"id": "nudge", "offset": "-15m", "channel": "sms", "only_if_unconfirmed": true, "template": "appointment_reminder_confirm"},
				},
			}, nil)
			v := p.book("apt-tw", 45*time.Minute)
			ask := v.send("ask", 1)
			p.advanceTo(ask.DueAt)
			p.waitSend("apt-tw", ask.ID, "sent")
			p.advanceTo(ask.DueAt.Add(time.Minute))

			// The patient's answer, as Twilio posts it, three times.
			path := "/webhooks/twilio/sms?clinic_id=" + url.QueryEscape(p.m.App.DemoClinicID)
			form := url.Values{
				"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {twiliotest.AccountSID},
				"From": {phone}, "To": {p.from}, "Body": {"yes I'll be there"}, "NumSegments": {"1"}, "NumMedia": {"0"},
			}
			for i := range 3 {
				if code := p.signedTwilio(path, twiliotest.AuthToken, form); code != http.StatusOK {
					t.Fatalf("post %d of the reply: %d", i+1, code)
				}
			}
			forged := url.Values{"MessageSid": {"SMforged0000000000000000000000000"}, "From": {phone}, "To": {p.from}, "Body": {"STOP"}}
			if code := p.signedTwilio(path, "ffffffffffffffffffffffffffffffff", forged); code != http.StatusForbidden {
				t.Fatalf("a forged reply: %d, want 403", code)
			}

			waitFor(t, 30*time.Second, "the appointment confirmed", func() bool {
				return p.appointment("apt-tw").Confirmation == "confirmed"
			})
			// One inbound message, interpreted as a confirmation.
			var inbound struct {
				Messages []struct {
					ID        string `json:"id"`
					Direction string `json:"direction"`
				} `json:"messages"`
			}
			p.mustCall(http.StatusOK, http.MethodGet, "/v1/messages?direction=inbound", nil, &inbound)
			if len(inbound.Messages) != 1 {
				t.Fatalf("%d inbound messages, want 1 (Twilio's retries stored once, the forged one not at all)", len(inbound.Messages))
			}
			var m struct {
				Inbound *struct {
					Intent         string          `json:"intent"`
					Interpretation json.RawMessage `json:"interpretation"`
				} `json:"inbound"`
			}
			p.mustCall(http.StatusOK, http.MethodGet, "/v1/messages/"+inbound.Messages[0].ID, nil, &m)
			if m.Inbound == nil || m.Inbound.Intent != "confirm" || !strings.Contains(string(m.Inbound.Interpretation), `"appointment_id":"apt-tw"`) {
				t.Fatalf("the reply's interpretation: %+v", m.Inbound)
			}

			// The confirmation answer reaches the patient once.
			answers := func() []twiliotest.Request {
				var out []twiliotest.Request
				for _, r := range creates(p.tw) {
					if r.Form.Get("To") == phone && strings.Contains(r.Form.Get("Body"), "is confirmed") {
						out = append(out, r)
					}
				}
				return out
			}
			waitFor(t, 30*time.Second, "the confirmation answer at Twilio", func() bool { return len(answers()) >= 1 })

			// The clinic's endpoint hears of it, signed.
			var got []webhooksigtest.Request
			waitFor(t, 30*time.Second, "appointment.confirmed at the clinic's endpoint", func() bool {
				got = recv.Requests()
				return len(got) >= 1
			})
			var ev struct {
				Type string `json:"type"`
				Data struct {
					AppointmentID string `json:"appointment_id"`
				} `json:"data"`
			}
			if err := json.Unmarshal(got[0].Body, &ev); err != nil || got[0].Err != nil || ev.Type != beckon.EventAppointmentConfirmed || ev.Data.AppointmentID != "apt-tw" {
				t.Fatalf("event %s (signature: %v), want a verified appointment.confirmed for apt-tw", got[0].Body, got[0].Err)
			}

			// The interpretation task handed to asynq again changes nothing.
			p.interpretAgain(inbound.Messages[0].ID)

			// The reminder for the unconfirmed does not go.
			v = p.appointment("apt-tw")
			nudge := v.send("nudge", v.Version)
			p.advanceTo(nudge.DueAt)
			if nudge.Status != "skipped" || !strings.Contains(nudge.Reason, "confirmed") {
				t.Fatalf("nudge %s (%s), want skipped because confirmed", nudge.Status, nudge.Reason)
			}
			p.waitTasksGone(nudge.ID)
			if n := len(answers()); n != 1 {
				t.Fatalf("the patient got %d confirmation answers, want 1", n)
			}
			if got = recv.Requests(); len(got) != 1 {
				t.Fatalf("the endpoint got %d events, want 1", len(got))
			}
			var cs struct {
				Confirmations []struct {
					By     string `json:"by"`
					Method string `json:"method"`
				} `json:"confirmations"`
			}
			p.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/apt-tw/confirmation", nil, &cs)
			if len(cs.Confirmations) != 1 || cs.Confirmations[0].By != "patient" || cs.Confirmations[0].Method != "sms" {
				t.Fatalf("confirmations %+v, want one by the patient by sms", cs.Confirmations)
			}
			assertNoPHI(t, p.logs.String(), phone, "yes I'll be there")
		})
	}
}

// interpretAgain hands asynq the interpretation task of a message once more,
// under a TaskID of its own (as a lost task's re-run would come), and waits
// until a worker ran it.
func (a *app) interpretAgain(messageID string) {
	a.t.Helper()
	task, opts, err := tasks.NewInterpretTask(a.m.App.DemoClinicID, messageID, "")
	if err != nil {
		a.t.Fatal(err)
	}
	id := "again-" + messageID
	client := asynq.NewClientFromRedisClient(a.m.App.Redis())
	if _, err := client.Enqueue(task, append(opts, asynq.TaskID(id), asynq.Queue(a.queue))...); err != nil {
		a.t.Fatal(err)
	}
	a.waitTasksGone(id)
}
