package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEHR is a FHIR server standing in for the clinic's EHR: versioned
// Appointments with If-Match, and Patients to fetch.
type fakeEHR struct {
	mu       sync.Mutex
	appts    map[string]map[string]any
	versions map[string]int
	// humanOnPut: on the next PUT of this id, a person changes the patient's
	// status first (a new version), so the PUT's If-Match is stale.
	humanOnPut map[string]string
	puts       []string // "id If-Match status"
}

func newFakeEHR() *fakeEHR {
	return &fakeEHR{appts: map[string]map[string]any{}, versions: map[string]int{}, humanOnPut: map[string]string{}}
}

func (f *fakeEHR) put(id string, doc map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[id]++
	doc["meta"] = map[string]any{"versionId": strconv.Itoa(f.versions[id])}
	f.appts[id] = doc
}

func patientStatus(doc map[string]any) string {
	for _, p := range doc["participant"].([]any) {
		pm := p.(map[string]any)
		if a, ok := pm["actor"].(map[string]any); ok && strings.HasPrefix(a["reference"].(string), "Patient/") {
			return pm["status"].(string)
		}
	}
	return ""
}

func (f *fakeEHR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	path := strings.TrimPrefix(r.URL.Path, "/fhir/")
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "Patient/"):
		id := strings.TrimPrefix(path, "Patient/")
		_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "Patient", "id": id,
			"name":    []any{map[string]any{"given": []string{"Peter"}, "family": "Chalmers"}},
			"telecom": []any{map[string]any{"system": "phone", "value": "+14155550177", "use": "mobile"}}})
	case strings.HasPrefix(path, "Appointment/"):
		id := strings.TrimPrefix(path, "Appointment/")
		f.mu.Lock()
		defer f.mu.Unlock()
		doc, ok := f.appts[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Method == http.MethodGet {
			w.Header().Set("ETag", `W/"`+strconv.Itoa(f.versions[id])+`"`)
			_ = json.NewEncoder(w).Encode(doc)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.puts = append(f.puts, id+" "+r.Header.Get("If-Match")+" "+patientStatus(body))
		if human, ok := f.humanOnPut[id]; ok {
			delete(f.humanOnPut, id)
			for _, p := range doc["participant"].([]any) {
				pm := p.(map[string]any)
				if strings.HasPrefix(pm["actor"].(map[string]any)["reference"].(string), "Patient/") {
					pm["status"] = human
				}
			}
			f.versions[id]++
			doc["meta"] = map[string]any{"versionId": strconv.Itoa(f.versions[id])}
		}
		if r.Header.Get("If-Match") != `W/"`+strconv.Itoa(f.versions[id])+`"` {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		f.versions[id]++
		body["meta"] = map[string]any{"versionId": strconv.Itoa(f.versions[id])}
		f.appts[id] = body
		w.Header().Set("ETag", `W/"`+strconv.Itoa(f.versions[id])+`"`)
		_ = json.NewEncoder(w).Encode(body)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeEHR) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return patientStatus(f.appts[id])
}

func (f *fakeEHR) putLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.puts...)
}

func (a *app) fhir(method, path string, body []byte) (int, map[string]any, http.Header) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		a.t.Fatalf("%s %s: content type %q: %s", method, path, ct, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s %s: %q: %v", method, path, raw, err)
	}
	return resp.StatusCode, out, resp.Header
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "ehr", "testdata", "fhir", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFeedsFHIR(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ehrSrv := newFakeEHR()
			srv := httptest.NewServer(ehrSrv)
			t.Cleanup(srv.Close)
			a := startApp(t, backend)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{
				"fhir_base_url": srv.URL + "/fhir", "fhir_authorization": "Bearer ehr-token", "writeback": true,
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/reminders", map[string]any{
				"name": "Reminders",
				"steps": []map[string]any{
					{"id": "sms-24h", "offset": "-24h", "channel": "sms", "template": "appointment_reminder_confirm", "only_if_unconfirmed": true},
				},
			}, nil)

			// The specification's examples (the patient fetched from the EHR).
			st, body, _ := a.fhir(http.MethodPost, "/fhir/r4/Appointment", example(t, "appointment-example.json"))
			if st != http.StatusCreated || body["resourceType"] != "Appointment" || body["id"] != "example" {
				t.Fatalf("example: %d %v", st, body)
			}
			st, body, _ = a.fhir(http.MethodPut, "/fhir/r4/Appointment/2docs", example(t, "appointment-example2doctors.json"))
			if st != http.StatusCreated {
				t.Fatalf("2docs: %d %v", st, body)
			}
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/Appointment", example(t, "appointment-example-request.json"))
			if st != http.StatusOK || body["resourceType"] != "OperationOutcome" {
				t.Fatalf("proposed: %d %v", st, body)
			}
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4", example(t, "bundle-transaction-patient.json"))
			if st != http.StatusOK || body["type"] != "transaction-response" || !strings.Contains(mustJSON(body), "201 Created") {
				t.Fatalf("bundle: %d %v", st, body)
			}
			st, body, _ = a.fhir(http.MethodGet, "/fhir/r4/Appointment/apt-5001", nil)
			if st != http.StatusOK || body["status"] != "booked" {
				t.Fatalf("read: %d %v", st, body)
			}
			st, body, _ = a.fhir(http.MethodGet, "/fhir/r4/metadata", nil)
			if st != http.StatusOK || body["resourceType"] != "CapabilityStatement" {
				t.Fatalf("metadata: %d %v", st, body)
			}

			// Invalid: an OperationOutcome naming the element.
			st, body, _ = a.fhir(http.MethodPost, "/fhir/r4/Appointment", []byte(`{"resourceType":"Appointment","id":"x1","participant":[{"actor":{"reference":"Patient/p"},"status":"accepted"}]}`))
			if st != http.StatusUnprocessableEntity || body["resourceType"] != "OperationOutcome" || !strings.Contains(mustJSON(body), `"Appointment.status"`) {
				t.Fatalf("invalid: %d %v", st, body)
			}
			req, _ := http.NewRequest(http.MethodGet, a.base+"/fhir/r4/Appointment/example", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/fhir+json") {
				t.Fatalf("no key: %d", resp.StatusCode)
			}

			// Write-back after a confirmation through the API.
			ehrSrv.put("apt-5001", map[string]any{"resourceType": "Appointment", "id": "apt-5001", "status": "booked",
				"start": "2030-03-10T14:00:00Z", "extension": []any{map[string]any{"url": "http://ehr.example/x", "valueString": "kept"}},
				"participant": []any{map[string]any{"actor": map[string]any{"reference": "Patient/pat-5001"}, "status": "needs-action"}}})
			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/appointments/apt-5001/confirmation", map[string]any{
				"response": "confirmed", "by": "staff:front-desk", "method": "phone",
			}, nil)
			waitFor(t, 20*time.Second, "participant accepted at the EHR", func() bool { return ehrSrv.status("apt-5001") == "accepted" })
			if log := ehrSrv.putLog(); len(log) != 1 || log[0] != `apt-5001 W/"1" accepted` {
				t.Fatalf("puts %q", log)
			}
			var view struct {
				Appointment struct {
					Confirmation string `json:"confirmation"`
				} `json:"appointment"`
				Confirmations []struct{ By, Method string } `json:"confirmations"`
				Writebacks    []struct{ Status string }     `json:"writebacks"`
			}
			waitFor(t, 10*time.Second, "write-back done", func() bool {
				a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/apt-5001/confirmation", nil, &view)
				return len(view.Writebacks) == 1 && view.Writebacks[0].Status == "done"
			})
			if view.Appointment.Confirmation != "confirmed" || view.Confirmations[0].By != "staff:front-desk" {
				t.Fatalf("confirmation view %+v", view)
			}

			// A stale If-Match: a person declined in the EHR meanwhile; Beckon
			// re-reads and does not overwrite.
			ehrSrv.put("2docs", map[string]any{"resourceType": "Appointment", "id": "2docs", "status": "booked",
				"participant": []any{map[string]any{"actor": map[string]any{"reference": "Patient/example"}, "status": "needs-action"}}})
			ehrSrv.mu.Lock()
			ehrSrv.humanOnPut["2docs"] = "declined"
			ehrSrv.mu.Unlock()
			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/appointments/2docs/confirmation", map[string]any{
				"response": "confirmed", "by": "patient", "method": "phone",
			}, nil)
			waitFor(t, 20*time.Second, "write-back skipped", func() bool {
				a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/2docs/confirmation", nil, &view)
				return len(view.Writebacks) == 1 && view.Writebacks[0].Status == "skipped"
			})
			if got := ehrSrv.status("2docs"); got != "declined" {
				t.Fatalf("the person's change was overwritten: %s", got)
			}
			assertNoPHI(t, a.logs.String(), "Chalmers", "+14155550177", "+16175550142")
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
