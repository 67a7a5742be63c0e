package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fhirAppt is an R4 Appointment for patient pid (no meta unless versionID).
func fhirAppt(id, status, pid, versionID string) map[string]any {
	doc := map[string]any{"resourceType": "Appointment", "id": id, "status": status,
		"start": "2030-03-10T14:00:00Z", "end": "2030-03-10T14:30:00Z",
		"participant": []any{map[string]any{"actor": map[string]any{"reference": "Patient/" + pid}, "status": "needs-action"}}}
	if versionID != "" {
		doc["meta"] = map[string]any{"versionId": versionID}
	}
	return doc
}

func fhirPatient(id string) map[string]any {
	return map[string]any{"resourceType": "Patient", "id": id,
		"name":    []any{map[string]any{"given": []string{"Lena"}, "family": "Okafor"}},
		"telecom": []any{map[string]any{"system": "phone", "value": "+14155550188", "use": "mobile"}}}
}

func TestFeedsFHIRBundlesAndNotify(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ehrSrv := newFakeEHR()
			var fetches sync.Map // path → Authorization: what Beckon fetched
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/Patient/no.such") {
					w.WriteHeader(http.StatusNotFound) // a patient the EHR does not have
					return
				}
				if r.Method == http.MethodGet {
					fetches.Store(r.URL.Path, r.Header.Get("Authorization"))
				}
				ehrSrv.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			a := startApp(t, backend)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{
				"fhir_base_url": srv.URL + "/fhir", "fhir_authorization": "Bearer ehr-token",
			}, nil)

			// A proposed appointment without meta, never seen, then booked
			// without meta: the booking goes through (no tombstone).
			st, body, _ := a.fhir(http.MethodPut, "/fhir/r4/Appointment/prop-1", []byte(mustJSON(fhirAppt("prop-1", "proposed", "pat-1", ""))))
			if st != http.StatusOK || body["resourceType"] != "OperationOutcome" {
				t.Fatalf("proposed: %d %v", st, body)
			}
			st, body, _ = a.fhir(http.MethodPut, "/fhir/r4/Appointment/prop-1", []byte(mustJSON(fhirAppt("prop-1", "booked", "pat-1", ""))))
			if st != http.StatusCreated || body["status"] != "booked" {
				t.Fatalf("booked after proposed: %d %v", st, body)
			}
			// A cancellation without meta, then a booking without meta: by arrival.
			a.fhir(http.MethodPut, "/fhir/r4/Appointment/c-1", []byte(mustJSON(fhirAppt("c-1", "cancelled", "pat-1", ""))))
			st, body, _ = a.fhir(http.MethodPut, "/fhir/r4/Appointment/c-1", []byte(mustJSON(fhirAppt("c-1", "booked", "pat-1", ""))))
			if st != http.StatusCreated {
				t.Fatalf("booked after cancelled: %d %v", st, body)
			}

			// A transaction whose last entry fails applies nothing.
			tx := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
				map[string]any{"fullUrl": "urn:uuid:p2", "resource": fhirPatient("pat-tx"), "request": map[string]any{"method": "PUT", "url": "Patient/pat-tx"}},
				map[string]any{"resource": fhirAppt("tx-1", "booked", "pat-tx", ""), "request": map[string]any{"method": "PUT", "url": "Appointment/tx-1"}},
				// A patient Beckon does not know and the EHR answers 404 for.
				map[string]any{"resource": fhirAppt("tx-2", "booked", "no.such", ""), "request": map[string]any{"method": "PUT", "url": "Appointment/tx-2"}},
			}}
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4", []byte(mustJSON(tx)))
			if st != http.StatusUnprocessableEntity || body["resourceType"] != "OperationOutcome" || !strings.Contains(mustJSON(body), "Bundle.entry[2].resource.participant[0].actor") {
				t.Fatalf("failed transaction: %d %v", st, body)
			}
			if code := a.call(http.MethodGet, "/v1/appointments/tx-1", nil, nil); code != http.StatusNotFound {
				t.Fatalf("tx-1 applied by a failed transaction: %d", code)
			}
			if code := a.call(http.MethodGet, "/v1/patients/pat-tx", nil, nil); code != http.StatusNotFound {
				t.Fatalf("pat-tx applied by a failed transaction: %d", code)
			}
			// The same bundle as a batch: each entry on its own.
			tx["type"] = "batch"
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4", []byte(mustJSON(tx)))
			if st != http.StatusOK || body["type"] != "batch-response" {
				t.Fatalf("batch: %d %v", st, body)
			}
			entries := body["entry"].([]any)
			statusOf := func(i int) string {
				return entries[i].(map[string]any)["response"].(map[string]any)["status"].(string)
			}
			if len(entries) != 3 || statusOf(0) != "201 Created" || statusOf(1) != "201 Created" || !strings.HasPrefix(statusOf(2), "422") {
				t.Fatalf("batch entries: %v", mustJSON(entries))
			}
			oo, _ := entries[2].(map[string]any)["response"].(map[string]any)["outcome"].(map[string]any)
			if oo["resourceType"] != "OperationOutcome" {
				t.Fatalf("batch failure without an OperationOutcome: %v", mustJSON(entries[2]))
			}
			if _, ok := entries[0].(map[string]any)["response"].(map[string]any)["outcome"]; ok {
				t.Fatalf("outcome on a success: %v", mustJSON(entries[0]))
			}
			// The transaction without its bad entry: all applied.
			tx["type"] = "transaction"
			tx["entry"] = tx["entry"].([]any)[:2]
			tx["entry"].([]any)[1].(map[string]any)["resource"] = fhirAppt("tx-3", "booked", "pat-tx", "")
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4", []byte(mustJSON(tx)))
			if st != http.StatusOK || body["type"] != "transaction-response" || len(body["entry"].([]any)) != 2 ||
				!strings.Contains(mustJSON(body), `"Appointment/tx-3/_history/1"`) {
				t.Fatalf("transaction: %d %v", st, mustJSON(body))
			}

			// Subscriptions backport notifications: a full-resource payload…
			status := map[string]any{"resourceType": "Parameters", "parameter": []any{
				map[string]any{"name": "type", "valueCode": "event-notification"}}}
			full := map[string]any{"resourceType": "Bundle", "type": "history", "entry": []any{
				map[string]any{"fullUrl": "urn:uuid:status", "resource": status},
				map[string]any{"fullUrl": srv.URL + "/fhir/Appointment/n-1",
					"resource": fhirAppt("n-1", "booked", "pat-tx", "1"), "request": map[string]any{"method": "PUT", "url": "Appointment/n-1"}},
			}}
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/notify", []byte(mustJSON(full)))
			if st != http.StatusOK || !strings.Contains(mustJSON(body), "1 appointment(s) applied") {
				t.Fatalf("full-resource notify: %d %v", st, body)
			}
			if v := a.appointment("n-1"); v.Status != "booked" {
				t.Fatalf("n-1: %+v", v)
			}
			// …and an id-only one: Beckon fetches the Appointment, and the
			// Patient it does not know, from the EHR.
			ehrSrv.put("n-2", fhirAppt("n-2", "booked", "pat-fetched", ""))
			idOnly := map[string]any{"resourceType": "Bundle", "type": "history", "entry": []any{
				map[string]any{"fullUrl": "urn:uuid:status", "resource": status},
				map[string]any{"fullUrl": srv.URL + "/fhir/Appointment/n-2", "request": map[string]any{"method": "PUT", "url": "Appointment/n-2"}},
			}}
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/notify", []byte(mustJSON(idOnly)))
			if st != http.StatusOK {
				t.Fatalf("id-only notify: %d %v", st, body)
			}
			for _, p := range []string{"/fhir/Appointment/n-2", "/fhir/Patient/pat-fetched"} {
				if auth, ok := fetches.Load(p); !ok || auth != "Bearer ehr-token" {
					t.Fatalf("not fetched with the clinic's authorization: %s (%v)", p, auth)
				}
			}
			var pv struct {
				LastName string `json:"last_name"`
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/pat-fetched", nil, &pv)
			if pv.LastName != "Chalmers" {
				t.Fatalf("fetched patient %+v", pv)
			}
			if v := a.appointment("n-2"); v.Status != "booked" {
				t.Fatalf("n-2: %+v", v)
			}
			// An id the EHR does not have: a 422 naming the entry, retryable.
			idOnly["entry"].([]any)[1].(map[string]any)["fullUrl"] = srv.URL + "/fhir/Appointment/n-404"
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/notify", []byte(mustJSON(idOnly)))
			if st != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(body), "Bundle.entry[1].fullUrl") {
				t.Fatalf("id-only notify of a missing appointment: %d %v", st, body)
			}
			assertNoPHI(t, a.logs.String(), "Okafor", "+14155550188", "Chalmers", "+14155550177")
		})
	}
}

// TestFeedsWebhookWriteback: an HL7-only EHR gets a Standard Webhooks
// signed event after a confirmation; the signature is recomputed here.
func TestFeedsWebhookWriteback(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			type delivery struct {
				header http.Header
				body   []byte
			}
			got := make(chan delivery, 4)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- delivery{r.Header.Clone(), b}
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(hook.Close)
			key := []byte("a 32-byte test key for webhooks!")
			secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
			a := startApp(t, backend)
			// A secret that is not "whsec_" + base64 of 24–64 bytes would fail
			// every write-back: refused up front.
			for _, bad := range []string{"plain-secret", "whsec_not base64!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
				if code := a.call(http.MethodPut, "/v1/clinic/feeds", map[string]any{
					"webhook_url": hook.URL, "webhook_secret": bad, "writeback": true,
				}, nil); code != http.StatusUnprocessableEntity {
					t.Fatalf("secret %q: %d, want 422", bad, code)
				}
			}
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{
				"webhook_url": hook.URL, "webhook_secret": secret, "writeback": true,
			}, nil)
			appt := fhirAppt("wh-1", "booked", "", "")
			appt["contained"] = []any{map[string]any{"resourceType": "Patient", "id": "p1",
				"identifier": []any{map[string]any{"value": "mrn-wh"}},
				"telecom":    []any{map[string]any{"system": "phone", "value": "+14155550199", "use": "mobile"}}}}
			appt["participant"] = []any{map[string]any{"actor": map[string]any{"reference": "#p1"}, "status": "needs-action"}}
			if st, body, _ := a.fhir(http.MethodPut, "/fhir/r4/Appointment/wh-1", []byte(mustJSON(appt))); st != http.StatusCreated {
				t.Fatalf("appointment: %d %v", st, body)
			}
			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/appointments/wh-1/confirmation", map[string]any{
				"response": "confirmed", "by": "patient", "method": "phone",
			}, nil)
			var d delivery
			select {
			case d = <-got:
			case <-time.After(20 * time.Second):
				t.Fatal("no webhook within 20s")
			}
			id, ts, sig := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp"), d.header.Get("webhook-signature")
			if id == "" || ts == "" || !strings.HasPrefix(sig, "v1,") {
				t.Fatalf("headers: id %q timestamp %q signature %q", id, ts, sig)
			}
			m := hmac.New(sha256.New, key)
			m.Write([]byte(id + "." + ts + "." + string(d.body)))
			want := base64.StdEncoding.EncodeToString(m.Sum(nil))
			ok := false
			for _, s := range strings.Fields(sig) { // space-separated, as the spec allows
				if v, found := strings.CutPrefix(s, "v1,"); found && hmac.Equal([]byte(v), []byte(want)) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("signature %q, want v1,%s", sig, want)
			}
			body := string(d.body)
			for _, want := range []string{`"type":"appointment.confirmation"`, `"appointment_id":"wh-1"`, `"participant_status":"accepted"`} {
				if !strings.Contains(body, want) {
					t.Fatalf("body lacks %s: %s", want, body)
				}
			}
			if strings.Contains(body, "+14155550199") {
				t.Fatal("the webhook body carries the phone number")
			}
			assertNoPHI(t, a.logs.String(), "+14155550199")
		})
	}
}
