package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/tasks"
)

// brokenInbox is a store that cannot write the status inbox.
type brokenInbox struct{ beckon.Store }

func (brokenInbox) StatusInboxPut(context.Context, []beckon.StatusInboxEntry) error {
	return fmt.Errorf("store: status_inbox.put: %w", beckon.ErrUnavailable)
}

// twilioCallback is a signed Twilio status callback of the bundle's clinic.
func (b *hookBundle) twilioCallback(sid, status string) (path string, body []byte, header map[string]string) {
	path = api.TwilioStatusPath + "?clinic_id=" + b.clinic.ID + "&send_id=snd_1"
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "AccountSid": {twiliotest.AccountSID}, "ErrorCode": {"30003"}}
	return path, []byte(form.Encode()), map[string]string{
		"Content-Type":       "application/x-www-form-urlencoded",
		"X-Twilio-Signature": twiliotest.Sign(twiliotest.AuthToken, b.public+path, form),
	}
}

// sendgridEvents is a signed SendGrid event batch of the bundle's clinic.
func (b *hookBundle) sendgridEvents(ids ...string) (body []byte, header map[string]string) {
	var events []map[string]any
	for _, id := range ids {
		events = append(events, map[string]any{"event": "delivered", "timestamp": 1700000000, "sg_event_id": id,
			"sg_message_id": "X1.filter.1", "send_id": "snd_2", "clinic_id": b.clinic.ID})
	}
	body, _ = json.Marshal(events)
	body = append(body, '\r', '\n')
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return body, map[string]string{"Content-Type": "application/json",
		"X-Twilio-Email-Event-Webhook-Signature": b.signSG(body, ts), "X-Twilio-Email-Event-Webhook-Timestamp": ts}
}

// stored returns the status the inbox holds for the key.
func (b *hookBundle) stored(provider, key string) (beckon.StatusInboxEntry, tasks.StatusPayload) {
	b.t.Helper()
	e, err := b.st.StatusInboxGet(context.Background(), b.clinic.ID, provider, key)
	if err != nil {
		b.t.Fatalf("inbox %s %s: %v", provider, key, err)
	}
	var p tasks.StatusPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		b.t.Fatal(err)
	}
	return e, p
}

// TestStatusStoredWhileRedisIsDown: with Redis unreachable, a verified
// callback is still acknowledged, because the store has it (once, however
// often it is retried) for the pump to queue later.
func TestStatusStoredWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	b.mr.Close()
	path, body, header := b.twilioCallback("SM9", "undelivered")
	for range 2 { // the second is Twilio's retry
		if status, e := b.post(path, body, header); status != http.StatusNoContent {
			t.Fatalf("twilio callback with Redis down: %d %v, want 204", status, e)
		}
	}
	e, p := b.stored(tasks.ProviderTwilio, "SM9:undelivered")
	if !e.Pending() || p.ProviderID != "SM9" || p.Event != "undelivered" || p.ErrorCode != "30003" || p.SendID != "snd_1" ||
		p.ClinicID != b.clinic.ID || !p.ViaInstallation {
		t.Fatalf("stored %+v with payload %+v", e, p)
	}
	pending, err := b.st.StatusInboxListPending(context.Background(), time.Now().Add(time.Minute), 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %d (%v), want the callback once", len(pending), err)
	}

	body, header = b.sendgridEvents("ev-a", "ev-b")
	if status, e := b.post(api.SendGridEventsPath, body, header); status != http.StatusNoContent {
		t.Fatalf("sendgrid events with Redis down: %d %v, want 204", status, e)
	}
	for _, key := range []string{"ev-a", "ev-b"} {
		if e, p := b.stored(tasks.ProviderSendGrid, key); !e.Pending() || p.SendID != "snd_2" || p.Event != "delivered" {
			t.Fatalf("stored %+v with payload %+v", e, p)
		}
	}
}

// TestStatusQueuedWhenTheStoreFails: a callback the store cannot take is
// acknowledged if Redis takes it, and refused with 503 and Retry-After (the
// provider retries) only when neither can.
func TestStatusQueuedWhenTheStoreFails(t *testing.T) {
	t.Parallel()
	b := setupHooksWith(t, hookOpts{store: func(st beckon.Store) beckon.Store { return brokenInbox{st} }})
	path, body, header := b.twilioCallback("SM1", "delivered")
	if status, e := b.post(path, body, header); status != http.StatusNoContent {
		t.Fatalf("twilio callback, store failing, Redis up: %d %v, want 204", status, e)
	}
	sgBody, sgHeader := b.sendgridEvents("ev-1")
	if status, e := b.post(api.SendGridEventsPath, sgBody, sgHeader); status != http.StatusNoContent {
		t.Fatalf("sendgrid events, store failing, Redis up: %d %v, want 204", status, e)
	}
	if ts := b.tasks(); len(ts) != 2 {
		t.Fatalf("tasks %+v, want both statuses queued", ts)
	}

	b.mr.Close()
	path, body, header = b.twilioCallback("SM2", "delivered")
	sgBody, sgHeader = b.sendgridEvents("ev-2")
	for name, post := range map[string]func() *http.Response{
		"twilio":   func() *http.Response { resp, _ := b.postRaw(path, body, header); return resp },
		"sendgrid": func() *http.Response { resp, _ := b.postRaw(api.SendGridEventsPath, sgBody, sgHeader); return resp },
	} {
		resp := post()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s, neither store nor Redis: %d (Retry-After %q), want 503 with Retry-After",
				name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
}
