package main

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// connCountingServer is a loopback HTTP server that counts the connections
// made to it and answers with a body a leak would show.
func connCountingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Appointment","id":"internal-secret-answer"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestClinicURLsRefuseInternalDestinations: without an allow-list, a clinic
// cannot save a FHIR base or webhook URL that points inside Beckon's network,
// and a URL that passed (saved before, or a name whose DNS now answers with
// an internal address) is refused when Beckon connects: the internal server
// is never connected to, by notify's fetch or by write-backs, and the clinic
// is told only that the server did not answer.
func TestClinicURLsRefuseInternalDestinations(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppEnv(t, backend, map[string]string{"BECKON_ALLOW_PRIVATE_HOSTS": ""})
			secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a 32-byte test key for webhooks!"))

			// Save time.
			for _, u := range []string{
				"http://127.0.0.1:8080/fhir",
				"https://127.0.0.1/fhir",
				"https://127.9.9.9/",
				"https://localhost/fhir",
				"https://ehr.localhost/fhir",
				"https://169.254.169.254/latest/meta-data/",
				"https://10.0.0.1/fhir",
				"https://172.16.0.1/",
				"https://192.168.1.10/",
				"https://100.64.0.1/",
				"https://0.0.0.0/",
				"https://224.0.0.1/",
				"https://[::1]/fhir",
				"https://[fe80::1%25eth0]/",
				"https://[fd00::1]/",
				"https://[::ffff:127.0.0.1]/",
				"https://[::ffff:a9fe:a9fe]/",
				"http://ehr.example.com/fhir",      // plain http to the internet
				"https://user:pw@ehr.example.com/", // credentials in the URL
				"ftp://ehr.example.com/",           // not http
				"https:///fhir",                    // no host
			} {
				for _, field := range []string{"fhir_base_url", "webhook_url"} {
					var e struct {
						Field string `json:"field"`
					}
					if code := a.call(http.MethodPut, "/v1/clinic/feeds", map[string]any{field: u, "webhook_secret": secret}, &e); code != http.StatusUnprocessableEntity || e.Field != field {
						t.Errorf("%s %q: %d field %q, want 422 on %s", field, u, code, e.Field, field)
					}
				}
			}
			for _, auth := range []string{"Bearer x\r\nX-Injected: 1", "Bearer x\nX-Injected: 1", "Bearer x\r", "Bearer \x00x", "Bearer \x7fx"} {
				var e struct {
					Field string `json:"field"`
				}
				if code := a.call(http.MethodPut, "/v1/clinic/feeds", map[string]any{"fhir_base_url": "https://ehr.example.com/fhir", "fhir_authorization": auth}, &e); code != http.StatusUnprocessableEntity || e.Field != "fhir_authorization" {
					t.Errorf("fhir_authorization %q: %d field %q, want 422", auth, code, e.Field)
				}
			}
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{
				"fhir_base_url": "https://ehr.example.com/fhir", "fhir_authorization": "Bearer abc.def",
				"webhook_url": "https://hooks.example.com/beckon?x=1", "webhook_secret": secret,
			}, nil)

			// Dial time: settings that name loopback through a host name.
			ehrSrv, ehrConns := connCountingServer(t)
			hookSrv, hookConns := connCountingServer(t)
			viaName := func(srv *httptest.Server) string {
				_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
				return "http://localhost:" + port
			}
			put := func(fs beckon.FeedSettings) {
				t.Helper()
				fs.ClinicID, fs.UpdatedAt = a.m.App.DemoClinicID, time.Now()
				if err := a.m.App.Store().FeedSettingsPut(context.Background(), fs); err != nil {
					t.Fatal(err)
				}
			}
			put(beckon.FeedSettings{FHIRBaseURL: viaName(ehrSrv) + "/fhir", FHIRAuthHeader: "Bearer clinic-token", Writeback: true})

			// notify: an id-only entry makes Beckon fetch the Appointment.
			st, body, _ := a.fhir(http.MethodPost, "/fhir/r4/notify", []byte(`{"resourceType":"Bundle","type":"history","entry":[{"fullUrl":"`+viaName(ehrSrv)+`/fhir/Appointment/a1"}]}`))
			if st != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(body), "did not answer") || strings.Contains(mustJSON(body), "internal-secret-answer") {
				t.Fatalf("notify: %d %v, want 422 saying the server did not answer", st, body)
			}

			// Write-backs, to the FHIR base and then to the webhook.
			for i, fs := range []beckon.FeedSettings{
				{FHIRBaseURL: viaName(ehrSrv) + "/fhir", FHIRAuthHeader: "Bearer clinic-token", Writeback: true},
				{WebhookURL: viaName(hookSrv) + "/hook", WebhookSecret: secret, Writeback: true},
			} {
				put(fs)
				id := []string{"eg-fhir", "eg-hook"}[i]
				appt := fhirAppt(id, "booked", "", "")
				appt["contained"] = []any{map[string]any{"resourceType": "Patient", "id": "p1",
					"identifier": []any{map[string]any{"value": "mrn-" + id}},
					"telecom":    []any{map[string]any{"system": "phone", "value": "+14155550166", "use": "mobile"}}}}
				appt["participant"] = []any{map[string]any{"actor": map[string]any{"reference": "#p1"}, "status": "needs-action"}}
				if st, body, _ := a.fhir(http.MethodPut, "/fhir/r4/Appointment/"+id, []byte(mustJSON(appt))); st != http.StatusCreated {
					t.Fatalf("appointment: %d %v", st, body)
				}
				a.mustCall(http.StatusCreated, http.MethodPost, "/v1/appointments/"+id+"/confirmation", map[string]any{
					"response": "confirmed", "by": "patient", "method": "phone",
				}, nil)
				var view struct {
					Writebacks []struct {
						Kind      string `json:"kind"`
						Attempts  int    `json:"attempts"`
						LastError string `json:"last_error"`
					} `json:"writebacks"`
				}
				waitFor(t, 20*time.Second, "a write-back attempt", func() bool {
					a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/"+id+"/confirmation", nil, &view)
					return len(view.Writebacks) == 1 && view.Writebacks[0].Attempts > 0
				})
				if w := view.Writebacks[0]; !strings.Contains(w.LastError, "did not answer") {
					t.Fatalf("write-back %+v: want \"did not answer\"", w)
				}
			}
			if n, m := ehrConns.Load(), hookConns.Load(); n != 0 || m != 0 {
				t.Fatalf("the internal servers were connected to: EHR %d, webhook %d times", n, m)
			}
			if !strings.Contains(a.logs.String(), "connection to an internal address refused") {
				t.Fatal("the refusal was not logged for the operator")
			}
		})
	}
}
