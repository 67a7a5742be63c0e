package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/tasks"
)

const wantTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// smsForm is an inbound message as Twilio posts it.
func smsForm(sid, from, to, body string) url.Values {
	return url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {twiliotest.AccountSID},
		"From": {from}, "To": {to}, "Body": {body}, "NumSegments": {"1"}, "NumMedia": {"0"},
	}
}

// postSMS posts the form to the inbound webhook at path, signed with token
// ("" unsigned).
func (b *hookBundle) postSMS(path, token string, form url.Values) (*http.Response, []byte) {
	b.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if token != "" {
		h["X-Twilio-Signature"] = twiliotest.Sign(token, b.public+path, form)
	}
	return b.postRaw(path, []byte(form.Encode()), h)
}

// interpretTasks are the interpret tasks asynq holds.
func (b *hookBundle) interpretTasks() []tasks.InterpretPayload {
	b.t.Helper()
	ts, err := b.insp.ListPendingTasks(b.queue)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		b.t.Fatal(err)
	}
	var out []tasks.InterpretPayload
	for _, ti := range ts {
		if ti.Type != tasks.TypeInterpret {
			continue
		}
		p, err := tasks.ParseInterpretPayload(ti.Payload)
		if err != nil {
			b.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// stored is every inbound message not yet interpreted, of any clinic.
func (b *hookBundle) inboundStored() []beckon.InboundSMS {
	b.t.Helper()
	ms, err := b.st.InboundSMSListPending(context.Background(), time.Now().Add(time.Hour), 100)
	if err != nil {
		b.t.Fatal(err)
	}
	return ms
}

func wantTwiMLAnswer(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || string(body) != wantTwiML || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("%s: %d %s %q, want 200 text/xml empty TwiML", what, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestTwilioSMSWebhookRefusesUnsigned(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	path := api.TwilioSMSPath + "?clinic_id=" + b.clinic.ID
	form := smsForm("SM1", "+14155550123", "+14155550000", "C")
	for name, token := range map[string]string{"missing": "", "forged": "0000000000000000000000000000000f"} {
		resp, _ := b.postSMS(path, token, form)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s signature: %d, want 403", name, resp.StatusCode)
		}
	}
	signed := twiliotest.Sign(twiliotest.AuthToken, b.public+path, form)
	tampered := strings.Replace(form.Encode(), "Body=C", "Body=STOP", 1)
	resp, _ := b.postRaw(path, []byte(tampered), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tampered body: %d, want 403", resp.StatusCode)
	}
	if n := len(b.inboundStored()); n != 0 {
		t.Fatalf("%d messages stored after refused posts", n)
	}
	if n := len(b.interpretTasks()); n != 0 {
		t.Fatalf("%d tasks after refused posts", n)
	}
}

func TestTwilioSMSWebhookStoresOnce(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+14155550123"})
	path := api.TwilioSMSPath + "?clinic_id=" + b.clinic.ID
	form := smsForm("SM1", p.Phone, "+14155550000", "yes I'll be there")
	form.Set("OptOutType", "")
	for i := range 3 {
		resp, body := b.postSMS(path, twiliotest.AuthToken, form)
		wantTwiMLAnswer(t, "post "+string(rune('1'+i)), resp, body)
	}
	ms := b.inboundStored()
	if len(ms) != 1 {
		t.Fatalf("%d messages stored, want 1", len(ms))
	}
	m := ms[0]
	if m.ClinicID != b.clinic.ID || m.PatientID != p.ID || m.Body != "yes I'll be there" || m.ProviderID != "SM1" ||
		m.Provider != "twilio" || m.NumSegments != 1 || m.Channel != beckon.ChannelSMS {
		t.Fatalf("stored %+v", m)
	}
	log, err := b.st.MessageGet(context.Background(), b.clinic.ID, m.ID)
	if err != nil || log.Direction != beckon.Inbound || log.Status != beckon.MessageReceived || log.From != p.Phone {
		t.Fatalf("message log: %+v, %v", log, err)
	}
	ts := b.interpretTasks()
	if len(ts) != 1 || ts[0].ClinicID != b.clinic.ID || ts[0].MessageID != m.ID {
		t.Fatalf("tasks %+v, want one for the message", ts)
	}
}

func TestTwilioSMSWebhookOptOutType(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	path := api.TwilioSMSPath + "?clinic_id=" + b.clinic.ID
	form := smsForm("SM2", "+14155550123", "+14155550000", "STOP")
	form.Set("OptOutType", "STOP")
	resp, body := b.postSMS(path, twiliotest.AuthToken, form)
	wantTwiMLAnswer(t, "stop", resp, body)
	ms := b.inboundStored()
	if len(ms) != 1 || ms[0].OptOutType != "STOP" || ms[0].PatientID != "" {
		t.Fatalf("stored %+v, want the opt-out type kept, no patient", ms)
	}
}

func TestTwilioSMSWebhookClinicResolution(t *testing.T) {
	t.Parallel()
	const clinicToken = "fedcba9876543210fedcba9876543210"
	b := setupHooksWith(t, hookOpts{delivery: func(c *api.DeliveryConfig) {
		c.TwilioFrom = "+14155559000"
		c.TwilioAccountSID = twiliotest.AccountSID
	}})
	ctx := context.Background()
	// b.clinic has its own account and number; another uses a messaging
	// service of the installation's account; a third has its own account
	// without a sender here.
	if _, err := b.st.ChannelSettingsPut(ctx, beckon.ChannelSettings{ClinicID: b.clinic.ID, TwilioAccountSID: "AC_own", TwilioAuthToken: clinicToken, TwilioFrom: "+14155550001"}); err != nil {
		t.Fatal(err)
	}
	svc := storetest.Clinic(t, b.st, storetest.ClinicOpts{ID: "cln_svc"})
	if _, err := b.st.ChannelSettingsPut(ctx, beckon.ChannelSettings{ClinicID: svc.ID, TwilioMessagingServiceSID: "MG1"}); err != nil {
		t.Fatal(err)
	}

	t.Run("ByTo", func(t *testing.T) {
		form := smsForm("SMto", "+14155550123", "+14155550001", "C")
		// Verified with the clinic's own token, not the installation's.
		if resp, _ := b.postSMS(api.TwilioSMSPath, twiliotest.AuthToken, form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("signed with the installation's token: %d, want 403", resp.StatusCode)
		}
		resp, body := b.postSMS(api.TwilioSMSPath, clinicToken, form)
		wantTwiMLAnswer(t, "by To", resp, body)
		if m := b.byProviderID(t, "SMto"); m.ClinicID != b.clinic.ID {
			t.Fatalf("clinic %q, want %q", m.ClinicID, b.clinic.ID)
		}
	})
	t.Run("ByMessagingService", func(t *testing.T) {
		form := smsForm("SMsvc", "+14155550123", "+14155550777", "C")
		form.Set("MessagingServiceSid", "MG1")
		resp, body := b.postSMS(api.TwilioSMSPath, twiliotest.AuthToken, form)
		wantTwiMLAnswer(t, "by service", resp, body)
		if m := b.byProviderID(t, "SMsvc"); m.ClinicID != svc.ID {
			t.Fatalf("clinic %q, want %q", m.ClinicID, svc.ID)
		}
	})
	t.Run("InstallationSender", func(t *testing.T) {
		// svc is the one clinic without an account of its own.
		form := smsForm("SMinst", "+14155550123", "+14155559000", "C")
		resp, body := b.postSMS(api.TwilioSMSPath, twiliotest.AuthToken, form)
		wantTwiMLAnswer(t, "installation sender", resp, body)
		if m := b.byProviderID(t, "SMinst"); m.ClinicID != svc.ID {
			t.Fatalf("clinic %q, want %q", m.ClinicID, svc.ID)
		}
	})
	t.Run("UnknownNumberKept", func(t *testing.T) {
		form := smsForm("SMnobody", "+14155550124", "+14155550888", "hello?")
		resp, body := b.postSMS(api.TwilioSMSPath, twiliotest.AuthToken, form)
		wantTwiMLAnswer(t, "unknown number", resp, body)
		m := b.byProviderID(t, "SMnobody")
		if m.ClinicID != "" || m.PatientID != "" || m.Body != "hello?" {
			t.Fatalf("stored %+v, want kept without clinic or patient", m)
		}
	})
}

func (b *hookBundle) byProviderID(t *testing.T, sid string) beckon.InboundSMS {
	t.Helper()
	for _, m := range b.inboundStored() {
		if m.ProviderID == sid {
			return m
		}
	}
	t.Fatalf("no message %s stored", sid)
	return beckon.InboundSMS{}
}

func TestTwilioSMSWebhookRedisDown(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	b.mr.Close()
	form := smsForm("SMdown", "+14155550123", "+14155550000", "C")
	resp, body := b.postSMS(api.TwilioSMSPath+"?clinic_id="+b.clinic.ID, twiliotest.AuthToken, form)
	wantTwiMLAnswer(t, "redis down", resp, body)
	if m := b.byProviderID(t, "SMdown"); m.ClinicID != b.clinic.ID {
		t.Fatalf("stored %+v", m)
	}
}

// authed calls the API with the bundle's admin key.
func (b *hookBundle) authed(method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader(string(raw)))
	req.Header.Set("Authorization", "Bearer "+b.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestOutboxReplyConversationInbox(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	ctx := context.Background()
	p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "p1", Phone: "+14155550123"})

	status, e := b.authed(http.MethodPost, "/v1/outbox/replies", map[string]any{"from": "4155550123", "body": "C"})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("a number not in E.164: %d %v", status, e)
	}
	status, e = b.authed(http.MethodPost, "/v1/outbox/replies", map[string]any{"from": p.Phone, "body": "C"})
	if status != http.StatusAccepted || e["patient_id"] != p.ID || e["body"] != "C" {
		t.Fatalf("outbox reply: %d %v", status, e)
	}
	id := e["id"].(string)
	in, err := b.st.InboundSMSGet(ctx, b.clinic.ID, id)
	if err != nil || !strings.HasPrefix(in.ProviderID, "SMoutbox") || in.Provider != "twilio" {
		t.Fatalf("stored %+v, %v", in, err)
	}
	if ts := b.interpretTasks(); len(ts) != 1 || ts[0].MessageID != id {
		t.Fatalf("tasks %+v", ts)
	}
	// What the interpreter will record.
	if _, err := b.st.InboundSMSInterpreted(ctx, beckon.InboundInterpretParams{
		ClinicID: b.clinic.ID, ID: id, Intent: "pending", Interpretation: []byte(`{"why":"test"}`), NeedsAttention: true,
	}); err != nil {
		t.Fatal(err)
	}

	status, e = b.authed(http.MethodGet, "/v1/patients/p1/conversation", nil)
	msgs, _ := e["messages"].([]any)
	if status != http.StatusOK || len(msgs) != 1 {
		t.Fatalf("conversation: %d %v", status, e)
	}
	m0 := msgs[0].(map[string]any)
	inb, _ := m0["inbound"].(map[string]any)
	if m0["direction"] != "inbound" || inb["intent"] != "pending" || inb["interpreted"] != true {
		t.Fatalf("conversation entry %v", m0)
	}
	other := storetest.Clinic(t, b.st, storetest.ClinicOpts{ID: "cln_other"})
	storetest.Patient(t, b.st, other.ID, storetest.PatientOpts{ID: "p2"})
	if status, _ := b.authed(http.MethodGet, "/v1/patients/p2/conversation", nil); status != http.StatusNotFound {
		t.Fatalf("another clinic's patient: %d, want 404", status)
	}

	status, e = b.authed(http.MethodGet, "/v1/inbox?needs_attention=true", nil)
	if list, _ := e["messages"].([]any); status != http.StatusOK || len(list) != 1 {
		t.Fatalf("inbox: %d %v", status, e)
	}
	if status, _ := b.authed(http.MethodPost, "/v1/inbox/"+id+"/handled", map[string]any{"by": ""}); status != http.StatusUnprocessableEntity {
		t.Fatalf("handled without by: %d", status)
	}
	status, e = b.authed(http.MethodPost, "/v1/inbox/"+id+"/handled", map[string]any{"by": "nurse_1"})
	if status != http.StatusOK || e["handled_by"] != "nurse_1" {
		t.Fatalf("handled: %d %v", status, e)
	}
	if status, _ := b.authed(http.MethodPost, "/v1/inbox/msg_nope/handled", map[string]any{"by": "nurse_1"}); status != http.StatusNotFound {
		t.Fatalf("unknown message: %d", status)
	}
	status, e = b.authed(http.MethodGet, "/v1/inbox", nil)
	if list, _ := e["messages"].([]any); status != http.StatusOK || len(list) != 0 {
		t.Fatalf("inbox after handled: %d %v", status, e)
	}
}

func TestOutboxReplyRefusedWithTwilio(t *testing.T) {
	t.Parallel()
	b := setupHooksWith(t, hookOpts{delivery: func(c *api.DeliveryConfig) { c.TwilioAccountSID = twiliotest.AccountSID }})
	status, e := b.authed(http.MethodPost, "/v1/outbox/replies", map[string]any{"from": "+14155550123", "body": "C"})
	if status != http.StatusConflict {
		t.Fatalf("outbox reply with Twilio configured: %d %v, want 409", status, e)
	}
	if n := len(b.inboundStored()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

func TestStaffMessage(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	ctx := context.Background()
	storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "p1", Phone: "+14155550123"})
	status, e := b.authed(http.MethodPost, "/v1/patients/p1/messages", map[string]any{"text": "Your forms are ready.", "by": "nurse_1"})
	if status != http.StatusAccepted || e["status"] != "planned" || e["quiet_exempt"] != false {
		t.Fatalf("staff message: %d %v", status, e)
	}
	mp, err := b.st.SendMessageGet(ctx, b.clinic.ID, e["id"].(string))
	if err != nil || mp.Text != "Your forms are ready." || mp.By != "nurse_1" || mp.PatientID != "p1" {
		t.Fatalf("planned %+v, %v", mp, err)
	}
	ts, err := b.insp.ListScheduledTasks(b.queue)
	pending, _ := b.insp.ListPendingTasks(b.queue)
	if err != nil || len(ts)+len(pending) != 1 {
		t.Fatalf("deliver tasks: %d scheduled, %d pending, %v", len(ts), len(pending), err)
	}

	// After the patient's own message, an answer may go in quiet hours.
	if status, _ := b.authed(http.MethodPost, "/v1/outbox/replies", map[string]any{"from": "+14155550123", "body": "when?"}); status != http.StatusAccepted {
		t.Fatalf("reply: %d", status)
	}
	status, e = b.authed(http.MethodPost, "/v1/patients/p1/messages", map[string]any{"text": "Tomorrow at 3.", "by": "nurse_1"})
	if status != http.StatusAccepted || e["quiet_exempt"] != true {
		t.Fatalf("answer: %d %v", status, e)
	}

	for name, body := range map[string]map[string]any{
		"blank":    {"text": "   ", "by": "nurse_1"},
		"too long": {"text": strings.Repeat("a", 1601), "by": "nurse_1"},
		"NUL":      {"text": "a\u0000b", "by": "nurse_1"},
		"no by":    {"text": "hi"},
	} {
		if status, e := b.authed(http.MethodPost, "/v1/patients/p1/messages", body); status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %v, want 422", name, status, e)
		}
	}
	if status, _ := b.authed(http.MethodPost, "/v1/patients/nobody/messages", map[string]any{"text": "hi", "by": "x"}); status != http.StatusNotFound {
		t.Fatalf("unknown patient: %d", status)
	}
	storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{ID: "p3", SMSConsent: beckon.ConsentOptedOut})
	if status, _ := b.authed(http.MethodPost, "/v1/patients/p3/messages", map[string]any{"text": "hi", "by": "x"}); status != http.StatusConflict {
		t.Fatalf("opted-out patient: %d, want 409", status)
	}
}
