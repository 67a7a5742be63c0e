package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels/sendgrid"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestWebhookRefusalTellsNothingOfTheClinic: a callback that does not verify
// gets the same answer whether the clinic named in the URL exists, has its
// own key, or relies on an installation without one, and whatever made it
// fail (no key, a stale timestamp, a wrong signature).
func TestWebhookRefusalTellsNothingOfTheClinic(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	clock := beckon.SystemClock{}
	logger := slog.New(slog.DiscardHandler)
	// No installation-wide token or key: clinics without their own have none.
	srv := httptest.NewServer(api.New(api.Config{
		Store: st, Service: &scheduler.Service{Store: st, Clock: clock, Logger: logger}, Clock: clock, Logger: logger,
		Delivery: api.DeliveryConfig{PublicURL: "https://beckon.example.org"},
	}))
	t.Cleanup(srv.Close)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	own := storetest.Clinic(t, st, storetest.ClinicOpts{Name: "Own keys"})
	if _, err := st.ChannelSettingsPut(context.Background(), beckon.ChannelSettings{
		ClinicID: own.ID, TwilioAccountSID: "AC" + strings.Repeat("a", 32), TwilioAuthToken: "token0123456789",
		SendGridWebhookKey: base64.StdEncoding.EncodeToString(der), UpdatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	none := storetest.Clinic(t, st, storetest.ClinicOpts{Name: "No keys"})

	post := func(path string, header map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`[{"event":"delivered"}]`))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	badSig := base64.StdEncoding.EncodeToString([]byte("not a signature"))
	fresh := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-24*time.Hour).Unix(), 10)
	named := []string{"?clinic_id=" + own.ID, "?clinic_id=" + none.ID, "?clinic_id=cln_nosuchclinic"}
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		// clinics: the URLs' queries compared. A Twilio callback URL
		// without clinic_id is refused (400) before any signature is
		// checked: it names no clinic, so it tells nothing of one.
		clinics []string
	}{
		{"sendgrid", api.SendGridEventsPath, map[string]string{sendgrid.SignatureHeader: badSig, sendgrid.TimestampHeader: fresh}, append([]string{""}, named...)},
		{"sendgrid stale", api.SendGridEventsPath, map[string]string{sendgrid.SignatureHeader: badSig, sendgrid.TimestampHeader: stale}, append([]string{""}, named...)},
		{"twilio", api.TwilioStatusPath, map[string]string{twilio.SignatureHeader: badSig, "Content-Type": "application/x-www-form-urlencoded"}, named},
	} {
		var first string
		for _, clinic := range tc.clinics {
			status, body := post(tc.path+clinic, tc.header)
			if status != http.StatusForbidden {
				t.Errorf("%s %q: %d %s, want 403", tc.name, clinic, status, body)
			}
			if first == "" {
				first = body
			} else if body != first {
				t.Errorf("%s: the answer for %q differs:\n%s\nvs\n%s", tc.name, clinic, body, first)
			}
		}
	}
	// And the same across the kinds of failure.
	_, a := post(api.SendGridEventsPath+"?clinic_id="+own.ID, map[string]string{sendgrid.SignatureHeader: badSig, sendgrid.TimestampHeader: stale})
	_, b := post(api.SendGridEventsPath+"?clinic_id="+none.ID, map[string]string{sendgrid.SignatureHeader: badSig, sendgrid.TimestampHeader: fresh})
	if a != b {
		t.Errorf("a stale timestamp with a key and no key at all answer differently:\n%s\nvs\n%s", a, b)
	}
}
