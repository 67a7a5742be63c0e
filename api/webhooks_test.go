package api_test

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
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/tasks"
)

type hookBundle struct {
	t       testing.TB
	st      beckon.Store
	mr      *miniredis.Miniredis // the Redis the API queues statuses in
	srv     *httptest.Server
	insp    *asynq.Inspector
	key     string
	clinic  beckon.Clinic
	sgPriv  *ecdsa.PrivateKey
	public  string
	queue   string
	keyB64  string
	adminID string
}

// hookOpts changes what setupHooks builds.
type hookOpts struct {
	// store wraps the test's store for the API (a store that fails on demand).
	store func(beckon.Store) beckon.Store
	// delivery changes the webhooks' configuration.
	delivery func(*api.DeliveryConfig)
}

func setupHooks(t *testing.T) *hookBundle {
	t.Helper()
	return setupHooksWith(t, hookOpts{})
}

func setupHooksWith(t testing.TB, o hookOpts) *hookBundle {
	t.Helper()
	st := storetest.Open(t)
	apiStore := st
	if o.store != nil {
		apiStore = o.store(st)
	}
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	b := &hookBundle{t: t, st: st, mr: mr, sgPriv: priv, public: "https://beckon.example.org", queue: "hooks", keyB64: base64.StdEncoding.EncodeToString(der)}
	clock := beckon.SystemClock{}
	logger := slog.New(slog.DiscardHandler)
	dc := api.DeliveryConfig{
		PublicURL:          b.public,
		Queue:              b.queue,
		TwilioAuthToken:    twiliotest.AuthToken,
		SendGridWebhookKey: b.keyB64,
	}
	if o.delivery != nil {
		o.delivery(&dc)
	}
	s := api.New(api.Config{
		Store:    apiStore,
		Service:  &scheduler.Service{Store: apiStore, Clock: clock, Logger: logger},
		Clock:    clock,
		Logger:   logger,
		Tasks:    asynq.NewClientFromRedisClient(rdb),
		Delivery: dc,
	})
	b.srv = httptest.NewServer(s)
	t.Cleanup(b.srv.Close)
	b.insp = asynq.NewInspectorFromRedisClient(rdb)
	b.clinic = storetest.Clinic(t, st, storetest.ClinicOpts{Name: "A"})
	b.key = "bk_test_" + beckon.NewID("")
	if err := st.APIKeyCreate(context.Background(), beckon.APIKey{
		ID: beckon.NewID("key_"), ClinicID: b.clinic.ID, Role: beckon.RoleAdmin, Hash: api.HashKey(b.key), CreatedAt: time.Now().UTC(),
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *hookBundle) post(path string, body []byte, header map[string]string) (int, map[string]any) {
	b.t.Helper()
	resp, raw := b.postRaw(path, body, header)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// postRaw posts and returns the response (its body read and closed) and its body.
func (b *hookBundle) postRaw(path string, body []byte, header map[string]string) (*http.Response, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func (b *hookBundle) tasks() []tasks.StatusPayload {
	b.t.Helper()
	var out []tasks.StatusPayload
	ts, err := b.insp.ListPendingTasks(b.queue)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		b.t.Fatal(err)
	}
	for _, ti := range ts {
		var p tasks.StatusPayload
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestTwilioStatusWebhook(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	path := api.TwilioStatusPath + "?clinic_id=" + b.clinic.ID + "&send_id=snd_1"
	form := url.Values{"MessageSid": {"SM123"}, "MessageStatus": {"delivered"}, "AccountSid": {twiliotest.AccountSID}, "To": {"+14155550123"}}
	body := []byte(form.Encode())
	good := map[string]string{
		"Content-Type":       "application/x-www-form-urlencoded",
		"X-Twilio-Signature": twiliotest.Sign(twiliotest.AuthToken, b.public+path, form),
	}
	for name, h := range map[string]map[string]string{
		"missing signature": {"Content-Type": "application/x-www-form-urlencoded"},
		"wrong signature":   {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twiliotest.Sign("wrongtoken", b.public+path, form)},
		"signed for another URL": {"Content-Type": "application/x-www-form-urlencoded",
			"X-Twilio-Signature": twiliotest.Sign(twiliotest.AuthToken, "http://127.0.0.1"+path, form)},
	} {
		status, e := b.post(path, body, h)
		if status != http.StatusForbidden || e["code"] != api.CodeForbidden {
			t.Fatalf("%s: %d %v, want 403 forbidden", name, status, e)
		}
	}
	tampered := []byte(strings.Replace(string(body), "delivered", "failed", 1))
	if status, _ := b.post(path, tampered, good); status != http.StatusForbidden {
		t.Fatalf("tampered body: %d", status)
	}
	if n := len(b.tasks()); n != 0 {
		t.Fatalf("%d tasks after refused callbacks", n)
	}
	for range 2 { // the second is a replay
		if status, e := b.post(path, body, good); status != http.StatusNoContent {
			t.Fatalf("good callback: %d %v", status, e)
		}
	}
	ts := b.tasks()
	if len(ts) != 1 || ts[0].ProviderID != "SM123" || ts[0].Event != "delivered" || ts[0].SendID != "snd_1" || ts[0].Key != "SM123:delivered" ||
		ts[0].ClinicID != b.clinic.ID || !ts[0].ViaInstallation {
		t.Fatalf("tasks %+v, want one delivered status of the clinic, verified by the installation's token", ts)
	}
}

func (b *hookBundle) signSG(body []byte, ts string) string {
	b.t.Helper()
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, b.sgPriv, h[:])
	if err != nil {
		b.t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestSendGridEventsWebhook(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	body := []byte(`[{"email":"ana@example.com","timestamp":1700000000,"event":"delivered","sg_event_id":"ev1","sg_message_id":"X1.filter.1","send_id":"snd_1","clinic_id":"` + b.clinic.ID + `"},` +
		`{"email":"ana@example.com","timestamp":1700000001,"event":"bounce","sg_event_id":"ev2","sg_message_id":"X1.filter.1","send_id":"snd_1","clinic_id":"` + b.clinic.ID + `"}]` + "\r\n")
	now := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	hdr := func(sig, ts string) map[string]string {
		return map[string]string{"Content-Type": "application/json",
			"X-Twilio-Email-Event-Webhook-Signature": sig, "X-Twilio-Email-Event-Webhook-Timestamp": ts}
	}
	for name, c := range map[string]struct {
		body []byte
		h    map[string]string
	}{
		"missing signature": {body, map[string]string{"Content-Type": "application/json"}},
		"tampered body":     {bytes.Replace(body, []byte("bounce"), []byte("open"), 1), hdr(b.signSG(body, now), now)},
		"trailing CRLF cut": {bytes.TrimSpace(body), hdr(b.signSG(body, now), now)},
		"stale timestamp":   {body, hdr(b.signSG(body, stale), stale)},
		"garbage signature": {body, hdr("bm90IGEgc2lnbmF0dXJl", now)},
	} {
		status, e := b.post(api.SendGridEventsPath, c.body, c.h)
		if status != http.StatusForbidden || e["code"] != api.CodeForbidden {
			t.Fatalf("%s: %d %v, want 403", name, status, e)
		}
	}
	if n := len(b.tasks()); n != 0 {
		t.Fatalf("%d tasks after refused events", n)
	}
	for range 2 {
		if status, e := b.post(api.SendGridEventsPath, body, hdr(b.signSG(body, now), now)); status != http.StatusNoContent {
			t.Fatalf("good events: %d %v", status, e)
		}
	}
	ts := b.tasks()
	if len(ts) != 2 {
		t.Fatalf("tasks %+v, want 2", ts)
	}
	for _, p := range ts {
		if p.ProviderID != "X1" || p.SendID != "snd_1" || (p.Key != "ev1" && p.Key != "ev2") || p.ClinicID != b.clinic.ID || !p.ViaInstallation {
			t.Fatalf("task %+v", p)
		}
	}
}

func TestChannelSettingsAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := "0123456789abcdef0123456789abcdef"
	put := map[string]any{
		"twilio":   map[string]any{"account_sid": twiliotest.AccountSID, "auth_token": token, "from": "+14155550100", "per_second": 10},
		"sendgrid": map[string]any{"api_key": "SG.secret", "from": "clinic@example.com", "from_name": "Clinic"},
	}
	out := b.must(b.keyA, http.MethodPut, "/v1/clinic/channels", put, http.StatusOK)
	raw, _ := json.Marshal(out)
	if strings.Contains(string(raw), token) || strings.Contains(string(raw), "SG.secret") {
		t.Fatalf("secrets returned: %s", raw)
	}
	tw := out["twilio"].(map[string]any)
	if tw["auth_token_configured"] != true || out["sendgrid"].(map[string]any)["api_key_configured"] != true || out["revision"].(float64) != 1 {
		t.Fatalf("settings %s", raw)
	}
	// Without the secrets: they are kept.
	put["twilio"] = map[string]any{"account_sid": twiliotest.AccountSID, "from": "+14155550101"}
	put["sendgrid"] = map[string]any{"from": "clinic@example.com"}
	out = b.must(b.keyA, http.MethodPut, "/v1/clinic/channels", put, http.StatusOK)
	cs, err := b.st.ChannelSettingsGet(context.Background(), b.clinic.ID)
	if err != nil || cs.TwilioAuthToken != token || cs.SendGridAPIKey != "SG.secret" || cs.TwilioFrom != "+14155550101" || cs.Revision != 2 {
		t.Fatalf("stored %+v (%v)", cs.Revision, err)
	}
	got := b.must(b.keyA, http.MethodGet, "/v1/clinic/channels", nil, http.StatusOK)
	raw, _ = json.Marshal(got)
	if strings.Contains(string(raw), token) || got["twilio"].(map[string]any)["auth_token_configured"] != true {
		t.Fatalf("get %s", raw)
	}
	// Other clinics see nothing of it; the ehr role may not.
	other := b.must(b.keyB, http.MethodGet, "/v1/clinic/channels", nil, http.StatusOK)
	if other["revision"].(float64) != 0 {
		t.Fatalf("other clinic %v", other)
	}
	status, e := b.do(b.ehrA, http.MethodGet, "/v1/clinic/channels", nil)
	checkError(t, status, e, http.StatusForbidden, api.CodeForbidden, "")
	for field, body := range map[string]map[string]any{
		"twilio.account_sid":           {"twilio": map[string]any{"account_sid": "nope", "auth_token": token}},
		"twilio.from":                  {"twilio": map[string]any{"from": "call me"}},
		"twilio.messaging_service_sid": {"twilio": map[string]any{"messaging_service_sid": "MGx"}},
		"sendgrid.from":                {"sendgrid": map[string]any{"from": "not an address"}},
		"sendgrid.webhook_public_key":  {"sendgrid": map[string]any{"webhook_public_key": "bm9wZQ=="}},
	} {
		status, e := b.do(b.keyA, http.MethodPut, "/v1/clinic/channels", body)
		checkError(t, status, e, http.StatusUnprocessableEntity, api.CodeInvalid, field)
	}
}

func TestCampaignFallbackValidated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, e := b.do(b.keyA, http.MethodPut, "/v1/campaigns/c", campaign(map[string]any{
		"offset": "-24h", "channel": "sms", "fallback": true, "content": map[string]any{"en": map[string]any{"text": "Hi"}},
	}))
	checkError(t, status, e, http.StatusUnprocessableEntity, api.CodeInvalid, "steps[0].fallback")
	out := b.must(b.keyA, http.MethodPut, "/v1/campaigns/c", campaign(map[string]any{
		"offset": "-24h", "channel": "sms", "fallback": true, "content": map[string]any{"en": map[string]any{"text": "Hi", "subject": "Reminder"}},
	}), http.StatusCreated)
	if out["steps"].([]any)[0].(map[string]any)["fallback"] != true {
		t.Fatalf("campaign %v", out)
	}
}
