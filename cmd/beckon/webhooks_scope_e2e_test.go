package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/tasks"
)

// attacker is a second clinic whose admin has set the clinic's own Twilio
// account and SendGrid event key, and so can sign callbacks and events.
type attacker struct {
	clinicID string
	token    string
	sgKey    *ecdsa.PrivateKey
}

func (p *providerApp) newAttacker() attacker {
	p.t.Helper()
	ctx := context.Background()
	now := p.now().UTC()
	a := attacker{clinicID: beckon.NewID("cln_"), token: "a1b2c3d4e5f60718293a4b5c6d7e8f90"}
	if err := p.m.App.Store().ClinicCreate(ctx, beckon.Clinic{ID: a.clinicID, Name: "Other Clinic", TimeZone: "UTC",
		QuietHours: beckon.DefaultQuietHours, CreatedAt: now, UpdatedAt: now}); err != nil {
		p.t.Fatal(err)
	}
	key, err := p.m.App.NewKey(ctx, a.clinicID, beckon.RoleAdmin, "admin")
	if err != nil {
		p.t.Fatal(err)
	}
	if a.sgKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		p.t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&a.sgKey.PublicKey)
	var raw json.RawMessage
	if got := p.callWith(key, http.MethodPut, "/v1/clinic/channels", map[string]any{
		"twilio":   map[string]any{"account_sid": "AC" + strings.Repeat("7", 32), "auth_token": a.token, "from": "+14155550177"},
		"sendgrid": map[string]any{"webhook_public_key": base64.StdEncoding.EncodeToString(der)},
	}, &raw); got != http.StatusOK {
		p.t.Fatalf("attacker's channel settings: %d %s", got, raw)
	}
	return a
}

// twilio posts a Twilio status callback signed with token to the path.
func (p *providerApp) signedTwilio(path, token string, form url.Values) int {
	p.t.Helper()
	target := p.public + path
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// signedEvents posts a SendGrid event batch signed with key to the path.
func (p *providerApp) signedEvents(path string, key *ecdsa.PrivateKey, events []map[string]any) int {
	p.t.Helper()
	return p.postEventsTo(path, events, func(body []byte, ts string) string { return signEvents(p.t, key, body, ts) })
}

// statusTasks counts the provider status tasks in the given states.
func (p *providerApp) statusTasks(lists ...func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)) int {
	p.t.Helper()
	n := 0
	for _, list := range lists {
		ts, err := list(p.queue)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			p.t.Fatal(err)
		}
		for _, ti := range ts {
			if ti.Type == tasks.TypeStatus {
				n++
			}
		}
	}
	return n
}

// victimState is what a status callback could change of the victim clinic.
type victimState struct {
	sms, email             string // message statuses
	smsEvents, emailEvents int
	consent                string // "sms/email"
	badPhone, badEmail     bool
	sends                  int // the appointment's sends (a fallback adds one)
}

func (p *providerApp) victimState(apptID, smsSend, emailSend string) victimState {
	p.t.Helper()
	ctx := context.Background()
	sms, _ := p.message(smsSend)
	em, _ := p.message(emailSend)
	var pat struct {
		Consent struct {
			SMS   string `json:"sms"`
			Email string `json:"email"`
		} `json:"consent"`
	}
	p.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/pat-1", nil, &pat)
	_, errPhone := p.m.App.Store().AddressUndeliverableGet(ctx, p.m.App.DemoClinicID, beckon.ChannelSMS, phone)
	_, errEmail := p.m.App.Store().AddressUndeliverableGet(ctx, p.m.App.DemoClinicID, beckon.ChannelEmail, email)
	return victimState{
		sms: sms.Status, email: em.Status, smsEvents: len(sms.Events), emailEvents: len(em.Events),
		consent:  pat.Consent.SMS + "/" + pat.Consent.Email,
		badPhone: errPhone == nil, badEmail: errEmail == nil,
		sends: len(p.appointment(apptID).Sends),
	}
}

// TestProvidersCrossClinicWebhooks: clinic A's admin, who set A's own Twilio
// token and SendGrid event key, signs callbacks and events naming clinic B's
// sends and messages (B's ids are easy to learn or compute). Nothing of B's
// changes: message status and history, undeliverable addresses, consent,
// fallback sends. B's own callbacks, with the same provider ids and statuses,
// still apply afterwards.
func TestProvidersCrossClinicWebhooks(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProvidersClock(t, backend, nil) // B: the demo clinic, on the installation's accounts
			content := map[string]any{"en": map[string]any{"subject": "Reminder", "text": "Hi {{.Patient.FirstName}}."}}
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/xc", map[string]any{
				"name": "Cross",
				"steps": []map[string]any{
					{"id": "sms", "offset": "-20s", "channel": "sms", "fallback": true, "content": content},
					{"id": "email", "offset": "-19s", "channel": "email", "fallback": true, "content": content},
				},
			}, nil)
			appt := p.book("apt-x", 24*time.Second)
			smsSend, emailSend := appt.send("sms", 1), appt.send("email", 1)
			p.advanceTo(emailSend.DueAt) // the SMS's too, a second before
			sms := p.waitMessage(smsSend.ID, "queued")
			em := p.waitMessage(emailSend.ID, "queued")
			before := p.victimState("apt-x", smsSend.ID, emailSend.ID)

			a := p.newAttacker()
			aURL := "/webhooks/twilio/status?clinic_id=" + a.clinicID
			for _, c := range []struct {
				path, sid, status, code string
				want                    int
			}{
				// On A's own URL, validly signed: accepted, but about B's messages.
				{aURL + "&send_id=" + smsSend.ID, sms.ProviderID, "undelivered", "30006", http.StatusNoContent},
				{aURL + "&send_id=" + emailSend.ID, sms.ProviderID, "failed", "30005", http.StatusNoContent},
				// A's token on B's URL: refused.
				{"/webhooks/twilio/status?clinic_id=" + p.m.App.DemoClinicID + "&send_id=" + smsSend.ID, sms.ProviderID, "undelivered", "30006", http.StatusForbidden},
			} {
				form := url.Values{"AccountSid": {"AC" + strings.Repeat("7", 32)}, "MessageSid": {c.sid}, "MessageStatus": {c.status}, "ErrorCode": {c.code}}
				if got := p.signedTwilio(c.path, a.token, form); got != c.want {
					t.Fatalf("twilio callback %s: %d, want %d", c.path, got, c.want)
				}
			}
			sgID := em.ProviderID + ".filter0001.1"
			now := p.now().Unix()
			events := []map[string]any{
				{"event": "bounce", "sg_event_id": "x-1", "sg_message_id": sgID, "send_id": emailSend.ID, "clinic_id": p.m.App.DemoClinicID, "timestamp": now},
				{"event": "dropped", "sg_event_id": "x-2", "sg_message_id": sgID, "send_id": emailSend.ID, "timestamp": now},
				{"event": "unsubscribe", "sg_event_id": "x-3", "sg_message_id": sgID, "send_id": emailSend.ID, "clinic_id": a.clinicID, "timestamp": now},
				{"event": "spamreport", "sg_event_id": "x-4", "send_id": smsSend.ID, "timestamp": now},
			}
			if got := p.signedEvents("/webhooks/sendgrid/events?clinic_id="+a.clinicID, a.sgKey, events); got != http.StatusNoContent {
				t.Fatalf("A's events on A's URL: %d", got)
			}
			for _, path := range []string{"/webhooks/sendgrid/events", "/webhooks/sendgrid/events?clinic_id=" + p.m.App.DemoClinicID} {
				if got := p.signedEvents(path, a.sgKey, events); got != http.StatusForbidden {
					t.Fatalf("A's key on %s: %d, want 403", path, got)
				}
			}
			insp := asynq.NewInspectorFromRedisClient(p.m.App.Redis())
			waitFor(t, time.Minute, "status tasks to run", func() bool {
				return p.statusTasks(insp.ListPendingTasks, insp.ListActiveTasks) == 0
			})
			if got := p.victimState("apt-x", smsSend.ID, emailSend.ID); got != before {
				t.Fatalf("clinic B after clinic A's callbacks:\n got  %+v\n want %+v", got, before)
			}
			// Each was dropped for good, none left to retry.
			if n := p.statusTasks(insp.ListRetryTasks, insp.ListScheduledTasks); n != 0 {
				t.Fatalf("%d of A's callbacks are being retried", n)
			}

			// B's own callback with the same id and status is applied: A's did
			// not use up its key. 30006 marks B's number and falls back.
			if code, err := p.tw.PostStatus(context.Background(), twiliotest.Callback{SID: sms.ProviderID, Status: "undelivered", ErrorCode: 30006}); err != nil || code != http.StatusNoContent {
				t.Fatalf("B's callback: %d %v", code, err)
			}
			p.waitMessage(smsSend.ID, "undelivered")
			p.waitSend("apt-x", smsSend.ID+"~fallback", "planned", "claimed", "sent")
			if got := p.victimState("apt-x", smsSend.ID, emailSend.ID); !got.badPhone || got.email != "queued" || got.consent != before.consent {
				t.Fatalf("clinic B after its own callback: %+v", got)
			}
			assertNoPHI(t, p.logs.String(), phone, email, "Hi Ana", a.token)
		})
	}
}
