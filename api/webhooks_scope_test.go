package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/tasks"
)

// ownClinic is a clinic with its own Twilio account and SendGrid event key.
type ownClinic struct {
	clinic beckon.Clinic
	token  string
	sgKey  *ecdsa.PrivateKey
}

func (b *hookBundle) ownClinic(name string) ownClinic {
	b.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	oc := ownClinic{clinic: storetest.Clinic(b.t, b.st, storetest.ClinicOpts{Name: name}), token: "abcdef0123456789abcdef0123456789", sgKey: key}
	if _, err := b.st.ChannelSettingsPut(context.Background(), beckon.ChannelSettings{
		ClinicID: oc.clinic.ID, TwilioAccountSID: "AC0123456789abcdef0123456789abcdef", TwilioAuthToken: oc.token,
		SendGridAPIKey: "SG.own", SendGridWebhookKey: base64.StdEncoding.EncodeToString(der),
	}); err != nil {
		b.t.Fatal(err)
	}
	return oc
}

func signEvents(t testing.TB, key *ecdsa.PrivateKey, body []byte, ts string) string {
	t.Helper()
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// postEvents posts a signed SendGrid batch to path and returns the status.
func (b *hookBundle) postEvents(path string, key *ecdsa.PrivateKey, events []map[string]any) int {
	b.t.Helper()
	body, _ := json.Marshal(events)
	body = append(body, '\r', '\n')
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	status, _ := b.post(path, body, map[string]string{"Content-Type": "application/json",
		"X-Twilio-Email-Event-Webhook-Signature": signEvents(b.t, key, body, ts), "X-Twilio-Email-Event-Webhook-Timestamp": ts})
	return status
}

// scopes lists the queued statuses as "clinic key via-installation".
func (b *hookBundle) scopes() []string {
	b.t.Helper()
	var out []string
	for _, p := range b.tasks() {
		out = append(out, p.ClinicID+" "+p.Key+" "+strconv.FormatBool(p.ViaInstallation))
	}
	sort.Strings(out)
	return out
}

// TestWebhookClinicScope: every queued status carries the one clinic whose
// secret verified it. A clinic's own secret speaks only for that clinic (it
// cannot verify another clinic's URL, and its events naming another clinic
// are dropped); the installation's secret speaks for the clinic the URL or
// the event names, marked as such; a Twilio callback that names no clinic is
// refused.
func TestWebhookClinicScope(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	shared := b.clinic // sends through the installation's accounts
	own := b.ownClinic("Own")

	twilio := func(clinicID, token string) int {
		path := api.TwilioStatusPath + "?send_id=snd_x"
		if clinicID != "" {
			path = api.TwilioStatusPath + "?clinic_id=" + clinicID + "&send_id=snd_x"
		}
		form := url.Values{"MessageSid": {"SMx"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30006"}}
		status, _ := b.post(path, []byte(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twiliotest.Sign(token, b.public+path, form)})
		return status
	}
	// The own clinic's token cannot speak for the shared clinic, nor can the
	// installation's for the own clinic.
	if got := twilio(shared.ID, own.token); got != http.StatusForbidden {
		t.Fatalf("own token on the shared clinic's URL: %d, want 403", got)
	}
	if got := twilio(own.clinic.ID, twiliotest.AuthToken); got != http.StatusForbidden {
		t.Fatalf("installation token on the own clinic's URL: %d, want 403", got)
	}
	if got := twilio("", twiliotest.AuthToken); got != http.StatusBadRequest {
		t.Fatalf("callback without clinic_id: %d, want 400", got)
	}
	if n := len(b.tasks()); n != 0 {
		t.Fatalf("%d statuses queued by refused callbacks", n)
	}
	// The same MessageSid and status sent to both clinics: two statuses, one
	// per clinic, neither holding up the other.
	if got := twilio(own.clinic.ID, own.token); got != http.StatusNoContent {
		t.Fatalf("own clinic's callback: %d", got)
	}
	if got := twilio(shared.ID, twiliotest.AuthToken); got != http.StatusNoContent {
		t.Fatalf("shared clinic's callback: %d", got)
	}
	want := []string{own.clinic.ID + " SMx:undelivered false", shared.ID + " SMx:undelivered true"}
	sort.Strings(want)
	if got := b.scopes(); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for _, ti := range mustList(t, b) {
		if ti != payloadOf(t, b, ti).TaskID() {
			t.Fatalf("task id %s is not the status's", ti)
		}
	}

	// SendGrid: the own clinic's key, on its URL, speaks only for it.
	ev := func(id, clinicID string) map[string]any {
		e := map[string]any{"event": "bounce", "sg_event_id": id, "sg_message_id": "X9.filter", "send_id": "snd_x", "timestamp": time.Now().Unix()}
		if clinicID != "" {
			e["clinic_id"] = clinicID
		}
		return e
	}
	ownPath := api.SendGridEventsPath + "?clinic_id=" + own.clinic.ID
	if got := b.postEvents(ownPath, own.sgKey, []map[string]any{ev("sg-own", own.clinic.ID), ev("sg-none", ""), ev("sg-foreign", shared.ID)}); got != http.StatusNoContent {
		t.Fatalf("own clinic's events: %d", got)
	}
	if got := b.postEvents(api.SendGridEventsPath+"?clinic_id="+shared.ID, own.sgKey, []map[string]any{ev("sg-forged", shared.ID)}); got != http.StatusForbidden {
		t.Fatalf("own key on the shared clinic's URL: %d, want 403", got)
	}
	if got := b.postEvents(api.SendGridEventsPath, own.sgKey, []map[string]any{ev("sg-forged", shared.ID)}); got != http.StatusForbidden {
		t.Fatalf("own key on the installation's URL: %d, want 403", got)
	}
	// The installation's key: each event scoped to the clinic it names.
	if got := b.postEvents(api.SendGridEventsPath, b.sgPriv, []map[string]any{ev("sg-shared", shared.ID), ev("sg-own-inst", own.clinic.ID), ev("sg-nobody", "")}); got != http.StatusNoContent {
		t.Fatalf("installation events: %d", got)
	}
	want = append(want,
		own.clinic.ID+" sg-own false", own.clinic.ID+" sg-none false",
		shared.ID+" sg-shared true",
		// Queued, marked as verified by the installation: the worker drops
		// it, since this clinic has its own SendGrid account.
		own.clinic.ID+" sg-own-inst true",
	)
	sort.Strings(want)
	if got := b.scopes(); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

// mustList returns the ids of the pending status tasks.
func mustList(t *testing.T, b *hookBundle) []string {
	t.Helper()
	ts, err := b.insp.ListPendingTasks(b.queue)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ti := range ts {
		ids = append(ids, ti.ID)
	}
	return ids
}

func payloadOf(t *testing.T, b *hookBundle, id string) tasks.StatusPayload {
	t.Helper()
	ti, err := b.insp.GetTaskInfo(b.queue, id)
	if err != nil {
		t.Fatal(err)
	}
	var p tasks.StatusPayload
	if err := json.Unmarshal(ti.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}
