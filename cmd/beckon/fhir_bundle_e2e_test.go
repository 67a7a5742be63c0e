package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
			tx["entry"].([]any)[1] = map[string]any{"resource": fhirAppt("tx-3", "booked", "pat-tx", ""), "request": map[string]any{"method": "PUT", "url": "Appointment/tx-3"}}
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

// entryResponses is a transaction-response or batch-response Bundle's
// entry.response, in order.
func entryResponses(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	entries, _ := body["entry"].([]any)
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		r, ok := e.(map[string]any)["response"].(map[string]any)
		if !ok {
			t.Fatalf("entry %d has no response: %s", i, mustJSON(body))
		}
		out[i] = r
	}
	return out
}

// exampleJSON is an example resource of ehr/testdata/fhir, decoded.
func exampleJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(example(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestFHIRBundleProcessing: bundles as EHRs send them (a Patient POSTed
// with a urn:uuid fullUrl and an identifier, an Appointment updated by a
// conditional PUT on its identifier that refers to that urn:uuid), posted
// to [base] and to [base]/: conditional create and update, answers in
// request order, a transaction all or nothing, a batch entry by entry.
func TestFHIRBundleProcessing(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
			tx := exampleJSON(t, "bundle-transaction-ehr.json")
			st, body, _ := a.fhir(http.MethodPost, "/fhir/r4/", []byte(mustJSON(tx)))
			if st != http.StatusOK || body["type"] != "transaction-response" {
				t.Fatalf("transaction at [base]/: %d %s", st, mustJSON(body))
			}
			rs := entryResponses(t, body)
			// Request order: the Appointment (processed second) answers first.
			if len(rs) != 2 || rs[0]["status"] != "201 Created" || rs[0]["location"] != "Appointment/123/_history/1" || rs[0]["etag"] != `W/"1"` ||
				rs[1]["status"] != "201 Created" || rs[1]["location"] != "Patient/12345" {
				t.Fatalf("transaction-response: %s", mustJSON(rs))
			}
			var av struct {
				PatientID string `json:"patient_id"`
				Status    string `json:"status"`
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/123", nil, &av)
			var pv struct {
				LastName string `json:"last_name"`
				Phone    string `json:"phone"`
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/12345", nil, &pv)
			if av.PatientID != "12345" || av.Status != "booked" || pv.LastName != "Chalmers" || pv.Phone != "+16175550142" {
				t.Fatalf("applied: %+v %+v", av, pv)
			}

			// The same patient as a conditional create (ifNoneExist) with
			// other data, and the appointment moved, at [base]: the patient
			// exists, so it is left as it is (200), the appointment updated.
			entries := tx["entry"].([]any)
			appt := entries[0].(map[string]any)
			appt["resource"].(map[string]any)["start"] = "2030-12-11T09:00:00Z"
			appt["resource"].(map[string]any)["end"] = "2030-12-11T10:00:00Z"
			pat := entries[1].(map[string]any)
			pat["request"].(map[string]any)["ifNoneExist"] = "identifier=urn:oid:1.2.36.146.595.217.0.1|12345"
			pat["resource"].(map[string]any)["name"] = []any{map[string]any{"family": "Changed", "given": []any{"Not"}}}
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4", []byte(mustJSON(tx)))
			rs = entryResponses(t, body)
			if st != http.StatusOK || len(rs) != 2 || rs[0]["status"] != "200 OK" || rs[0]["location"] != "Appointment/123/_history/2" ||
				rs[1]["status"] != "200 OK" || rs[1]["location"] != "Patient/12345" {
				t.Fatalf("conditional create of a known patient: %d %s", st, mustJSON(body))
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/12345", nil, &pv)
			if pv.LastName != "Chalmers" {
				t.Fatalf("a conditional create changed the existing patient: %+v", pv)
			}

			// A conditional create of a new patient, a new appointment for
			// them, and an entry Beckon does not take: nothing is applied, and
			// the answer names the entry.
			newTx := func(third any) map[string]any {
				return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
					map[string]any{"fullUrl": "urn:uuid:9a6c2b4e-7c1d-4b8e-a7e3-2f0b5d6c8e01",
						"resource": map[string]any{"resourceType": "Patient",
							"identifier": []any{map[string]any{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "67890"}},
							"name":       []any{map[string]any{"family": "Okafor", "given": []any{"Lena"}}},
							"telecom":    []any{map[string]any{"system": "phone", "value": "+14155550188", "use": "mobile"}}},
						"request": map[string]any{"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:oid:1.2.36.146.595.217.0.1|67890"}},
					map[string]any{"fullUrl": "urn:uuid:0d7f3a1c-5e2b-4c9d-8f6a-1b3e5d7f9a20",
						"resource": map[string]any{"resourceType": "Appointment", "status": "booked",
							"start": "2030-12-12T15:00:00Z", "minutesDuration": 30,
							"participant": []any{map[string]any{"actor": map[string]any{"reference": "urn:uuid:9a6c2b4e-7c1d-4b8e-a7e3-2f0b5d6c8e01"}, "status": "accepted"}}},
						"request": map[string]any{"method": "PUT", "url": "Appointment?identifier=http://example.org/sampleappointment-identifier|456"}},
					third,
				}}
			}
			bad := newTx(map[string]any{"fullUrl": "urn:uuid:4c2e8a6f-1d3b-4f5a-9c7e-8b0d2f4a6c31",
				"resource": map[string]any{"resourceType": "Practitioner", "name": []any{map[string]any{"family": "Careful"}}},
				"request":  map[string]any{"method": "POST", "url": "Practitioner"}})
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/", []byte(mustJSON(bad)))
			if st != http.StatusUnprocessableEntity || body["resourceType"] != "OperationOutcome" || !strings.Contains(mustJSON(body), `"Bundle.entry[2].resource"`) {
				t.Fatalf("transaction with an unsupported entry: %d %s", st, mustJSON(body))
			}
			for _, path := range []string{"/v1/patients/67890", "/v1/appointments/456"} {
				if code := a.call(http.MethodGet, path, nil, nil); code != http.StatusNotFound {
					t.Fatalf("%s written by a failed transaction: %d", path, code)
				}
			}
			// An entry that fails only when applied (an appointment whose
			// patient Beckon does not know and cannot fetch): nothing is applied.
			late := newTx(map[string]any{"resource": fhirAppt("789", "booked", "nobody", ""), "request": map[string]any{"method": "PUT", "url": "Appointment/789"}})
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/", []byte(mustJSON(late)))
			if st != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(body), `"Bundle.entry[2].resource.participant[0].actor"`) {
				t.Fatalf("transaction with an unknown patient: %d %s", st, mustJSON(body))
			}
			for _, path := range []string{"/v1/patients/67890", "/v1/appointments/456", "/v1/appointments/789"} {
				if code := a.call(http.MethodGet, path, nil, nil); code != http.StatusNotFound {
					t.Fatalf("%s written by a failed transaction: %d", path, code)
				}
			}
			// The same as a batch: the good entries apply, the bad one is
			// answered on its own.
			late["type"] = "batch"
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/", []byte(mustJSON(late)))
			rs = entryResponses(t, body)
			if st != http.StatusOK || body["type"] != "batch-response" || len(rs) != 3 || rs[0]["status"] != "201 Created" ||
				rs[1]["status"] != "201 Created" || rs[1]["location"] != "Appointment/456/_history/1" || !strings.HasPrefix(rs[2]["status"].(string), "422") ||
				!strings.Contains(mustJSON(rs[2]["outcome"]), "Bundle.entry[2].resource.participant[0].actor") {
				t.Fatalf("batch: %d %s", st, mustJSON(body))
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/456", nil, &av)
			if av.PatientID != "67890" {
				t.Fatalf("batch appointment: %+v", av)
			}
			assertNoPHI(t, a.logs.String(), "Chalmers", "Okafor", "+16175550142", "+14155550188")
		})
	}
}

// fhirKitDir holds the node script that drives Beckon with fhir-kit-client
// (npm), and its package.json and package-lock.json; .ci/run installs it
// with npm ci.
var fhirKitDir = filepath.Join("testdata", "fhirkit")

// fhirKitStep is one interaction the node script makes; fhirKitResult its
// outcome: the HTTP status, the URL the library called and the answer.
type fhirKitStep struct {
	Op           string `json:"op"`
	Body         any    `json:"body,omitempty"`
	ResourceType string `json:"resourceType,omitempty"`
	ID           string `json:"id,omitempty"`
}

type fhirKitResult struct {
	Status int            `json:"status"`
	URL    string         `json:"url"`
	Body   map[string]any `json:"body"`
}

// fhirKitNode is the node that runs the script. In CI (CI=true) a missing
// node or package fails the test; elsewhere it skips, naming what to
// install.
func fhirKitNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(fhirKitDir, "node_modules", "fhir-kit-client", "package.json"))
	}
	if err != nil {
		const need = "node 20+ and fhir-kit-client: npm ci --prefix cmd/beckon/testdata/fhirkit"
		if os.Getenv("CI") != "" {
			t.Fatalf("CI runs the FHIR client test: needs %s (.ci/run installs them): %v", need, err)
		}
		t.Skipf("needs %s: %v", need, err)
	}
	return node
}

// runFHIRKit runs the steps with fhir-kit-client against the app.
func runFHIRKit(t *testing.T, node string, a *app, steps ...fhirKitStep) []fhirKitResult {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"base": a.base + "/fhir/r4", "token": a.key, "steps": steps})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "fhirkit.mjs")
	cmd.Dir = fhirKitDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fhir-kit-client script: %v\n%s", err, stderr.String())
	}
	var res []fhirKitResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(steps) {
		t.Fatalf("fhir-kit-client script answered %q: %v", out, err)
	}
	return res
}

// TestFHIRBundleWithFHIRKitClient: a FHIR client library (fhir-kit-client,
// whose transaction() and batch() post to [base]/) reads the capability
// statement, sends an EHR's transaction and a batch, and reads the
// appointment back.
func TestFHIRBundleWithFHIRKitClient(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			node := fhirKitNode(t)
			a := startApp(t, backend)
			tx := exampleJSON(t, "bundle-transaction-ehr.json")
			bad := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
				tx["entry"].([]any)[1],
				map[string]any{"resource": fhirAppt("a-2", "booked", "12345", ""), "request": map[string]any{"method": "PUT", "url": "Appointment/a-2"}},
				map[string]any{"request": map[string]any{"method": "DELETE", "url": "Appointment/123"}},
			}}
			batch := map[string]any{"resourceType": "Bundle", "type": "batch", "entry": bad["entry"]}
			res := runFHIRKit(t, node, a,
				fhirKitStep{Op: "capabilityStatement"},
				fhirKitStep{Op: "transaction", Body: tx},
				fhirKitStep{Op: "transaction", Body: bad},
				fhirKitStep{Op: "batch", Body: batch},
				fhirKitStep{Op: "read", ResourceType: "Appointment", ID: "123"},
			)
			if r := res[0]; r.Status != http.StatusOK || r.Body["resourceType"] != "CapabilityStatement" {
				t.Fatalf("capability statement: %+v", r)
			}
			for _, r := range res[1:4] {
				if !strings.HasSuffix(r.URL, "/fhir/r4/") {
					t.Fatalf("the library posted to %s, not to [base]/", r.URL)
				}
			}
			if r := res[1]; r.Status != http.StatusOK || r.Body["type"] != "transaction-response" ||
				!strings.Contains(mustJSON(r.Body), `"location":"Appointment/123/_history/1"`) || !strings.Contains(mustJSON(r.Body), `"location":"Patient/12345"`) {
				t.Fatalf("transaction: %d %s", r.Status, mustJSON(r.Body))
			}
			// A DELETE entry: the whole transaction is refused, naming it.
			if r := res[2]; r.Status != http.StatusUnprocessableEntity || r.Body["resourceType"] != "OperationOutcome" ||
				!strings.Contains(mustJSON(r.Body), `"Bundle.entry[2].request.method"`) {
				t.Fatalf("transaction with a DELETE: %d %s", r.Status, mustJSON(r.Body))
			}
			// The batch creates a-2 (201): the refused transaction had not.
			r := res[3]
			rs := entryResponses(t, r.Body)
			if r.Status != http.StatusOK || len(rs) != 3 || rs[0]["status"] != "200 OK" || rs[1]["status"] != "201 Created" || !strings.HasPrefix(rs[2]["status"].(string), "422") {
				t.Fatalf("batch: %d %s", r.Status, mustJSON(r.Body))
			}
			if r := res[4]; r.Status != http.StatusOK || r.Body["id"] != "123" || !strings.Contains(mustJSON(r.Body), `"reference":"Patient/12345"`) {
				t.Fatalf("read: %d %s", r.Status, mustJSON(r.Body))
			}
		})
	}
}
