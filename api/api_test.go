package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

type bundle struct {
	t      *testing.T
	st     beckon.Store
	srv    *httptest.Server
	keyA   string // admin of clinic A
	keyB   string // admin of clinic B
	ehrA   string // ehr role of clinic A
	clinic beckon.Clinic
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupLogged(t, slog.New(slog.DiscardHandler))
}

// setupLogged is setup with the server logging to logger.
func setupLogged(t *testing.T, logger *slog.Logger) *bundle {
	t.Helper()
	st := storetest.Open(t)
	clock := beckon.SystemClock{}
	s := api.New(api.Config{
		Store:   st,
		Service: &scheduler.Service{Store: st, Clock: clock, Logger: logger},
		Clock:   clock,
		Logger:  logger,
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	b := &bundle{t: t, st: st, srv: srv}
	a := storetest.Clinic(t, st, storetest.ClinicOpts{Name: "A"})
	c := storetest.Clinic(t, st, storetest.ClinicOpts{Name: "B"})
	b.clinic = a
	b.keyA = b.key(a.ID, beckon.RoleAdmin)
	b.keyB = b.key(c.ID, beckon.RoleAdmin)
	b.ehrA = b.key(a.ID, beckon.RoleEHR)
	return b
}

func (b *bundle) key(clinicID string, role beckon.Role) string {
	secret := "bk_test_" + beckon.NewID("")
	err := b.st.APIKeyCreate(context.Background(), beckon.APIKey{
		ID: beckon.NewID("key_"), ClinicID: clinicID, Role: role, Hash: api.HashKey(secret), CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return secret
}

// do sends a request; body may be a string (sent as is) or a value (JSON).
func (b *bundle) do(key, method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	default:
		j, _ := json.Marshal(v)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func (b *bundle) must(key, method, path string, body any, want int) map[string]any {
	b.t.Helper()
	got, out := b.do(key, method, path, body)
	if got != want {
		b.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, want)
	}
	return out
}

// checkError asserts the one error shape.
func checkError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode, wantField string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d (%v), want %d", status, body, wantStatus)
	}
	if int(body["status"].(float64)) != wantStatus || body["code"] != wantCode || body["message"] == "" {
		t.Fatalf("error body %v, want status %d, code %s and a message", body, wantStatus, wantCode)
	}
	if wantField != "" && body["field"] != wantField {
		t.Fatalf("error field %q (%v), want %q", body["field"], body, wantField)
	}
}

var patient = map[string]any{"first_name": "Ana", "phone": "+14155550123", "email": "ana@example.com"}

func appointment(start string) map[string]any {
	return map[string]any{"patient_id": "p1", "start": start, "duration": "30m", "type": "checkup"}
}

var future = time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)

func campaign(step map[string]any) map[string]any {
	return map[string]any{"name": "Reminders", "steps": []any{step}}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	st, body := b.do("", http.MethodGet, "/v1/campaigns", nil)
	checkError(t, st, body, http.StatusUnauthorized, api.CodeUnauthorized, "")
	st, body = b.do("bk_wrong", http.MethodGet, "/v1/campaigns", nil)
	checkError(t, st, body, http.StatusUnauthorized, api.CodeUnauthorized, "")
	st, body = b.do(b.ehrA, http.MethodPut, "/v1/campaigns/c1", campaign(map[string]any{"offset": "-24h", "channel": "sms", "template": "appointment_reminder"}))
	checkError(t, st, body, http.StatusForbidden, api.CodeForbidden, "")
	b.must(b.ehrA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must("", http.MethodGet, "/healthz", nil, http.StatusOK)
	b.must("", http.MethodGet, "/readyz", nil, http.StatusOK)
}

func TestBadInputIsRejectedAndChangesNothing(t *testing.T) {
	t.Parallel()
	with := func(base map[string]any, k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	step := map[string]any{"offset": "-24h", "channel": "sms", "template": "appointment_reminder"}
	tests := []struct {
		name      string
		method    string
		path      string
		body      any
		status    int
		code      string
		field     string
		unchanged string // a GET that must still answer 404 afterwards
	}{
		{"patient phone not E.164", "PUT", "/v1/patients/x", with(patient, "phone", "415-555-0123"), 422, api.CodeInvalid, "phone", "/v1/patients/x"},
		{"patient phone not a number", "PUT", "/v1/patients/x", with(patient, "phone", "+1415"), 422, api.CodeInvalid, "phone", "/v1/patients/x"},
		{"patient email", "PUT", "/v1/patients/x", with(patient, "email", "ana@"), 422, api.CodeInvalid, "email", "/v1/patients/x"},
		{"patient zone", "PUT", "/v1/patients/x", with(patient, "time_zone", "Mars/Olympus"), 422, api.CodeInvalid, "time_zone", "/v1/patients/x"},
		{"patient language", "PUT", "/v1/patients/x", with(patient, "language", "not a tag!"), 422, api.CodeInvalid, "language", "/v1/patients/x"},
		{"patient without name", "PUT", "/v1/patients/x", with(patient, "first_name", nil), 422, api.CodeInvalid, "first_name", "/v1/patients/x"},
		{"patient unreachable", "PUT", "/v1/patients/x", map[string]any{"first_name": "Ana"}, 422, api.CodeInvalid, "phone", "/v1/patients/x"},
		{"patient channel", "PUT", "/v1/patients/x", with(patient, "preferred_channel", "fax"), 422, api.CodeInvalid, "preferred_channel", "/v1/patients/x"},
		{"patient unknown field", "PUT", "/v1/patients/x", with(patient, "ssn", "123"), 422, api.CodeInvalid, "", "/v1/patients/x"},
		{"patient not JSON", "PUT", "/v1/patients/x", `{"first_name": "Ana",`, 400, api.CodeBadRequest, "", "/v1/patients/x"},
		{"patient bad id", "PUT", "/v1/patients/a%20b", patient, 422, api.CodeInvalid, "path.id", ""},
		{"appointment start without offset", "PUT", "/v1/appointments/x", appointment("2026-03-09T10:00:00"), 422, api.CodeInvalid, "start", "/v1/appointments/x"},
		{"appointment start garbage", "PUT", "/v1/appointments/x", appointment("tomorrow"), 422, api.CodeInvalid, "start", "/v1/appointments/x"},
		{"appointment duration", "PUT", "/v1/appointments/x", with(appointment(future), "duration", "forever"), 422, api.CodeInvalid, "duration", "/v1/appointments/x"},
		{"appointment negative duration", "PUT", "/v1/appointments/x", with(appointment(future), "duration", "-30m"), 422, api.CodeInvalid, "duration", "/v1/appointments/x"},
		{"appointment status", "PUT", "/v1/appointments/x", with(appointment(future), "status", "maybe"), 422, api.CodeInvalid, "status", "/v1/appointments/x"},
		{"appointment unknown patient", "PUT", "/v1/appointments/x", with(appointment(future), "patient_id", "nobody"), 422, api.CodeInvalid, "patient_id", "/v1/appointments/x"},
		{"batch with one bad item", "POST", "/v1/appointments/batch", map[string]any{"appointments": []any{
			with(appointment(future), "id", "ok-1"), with(appointment("yesterday"), "id", "bad-1"),
		}}, 422, api.CodeInvalid, "appointments[1].start", "/v1/appointments/ok-1"},
		{"batch with an unknown patient", "POST", "/v1/appointments/batch", map[string]any{"appointments": []any{
			with(appointment(future), "id", "ok-2"), with(with(appointment(future), "id", "bad-2"), "patient_id", "nobody"),
		}}, 422, api.CodeInvalid, "appointments[1].patient_id", "/v1/appointments/ok-2"},
		{"batch with repeated ids", "POST", "/v1/appointments/batch", map[string]any{"appointments": []any{
			with(appointment(future), "id", "ok-3"), with(appointment(future), "id", "ok-3"),
		}}, 422, api.CodeInvalid, "appointments[1].id", "/v1/appointments/ok-3"},
		{"batch empty", "POST", "/v1/appointments/batch", map[string]any{"appointments": []any{}}, 422, api.CodeInvalid, "appointments", ""},
		{"campaign without steps", "PUT", "/v1/campaigns/x", map[string]any{"name": "R", "steps": []any{}}, 422, api.CodeInvalid, "steps", "/v1/campaigns/x"},
		{"campaign step without timing", "PUT", "/v1/campaigns/x", campaign(with(step, "offset", nil)), 422, api.CodeInvalid, "steps[0].offset", "/v1/campaigns/x"},
		{"campaign step with both timings", "PUT", "/v1/campaigns/x", campaign(with(with(step, "day", -1), "at", "09:00")), 422, api.CodeInvalid, "steps[0].offset", "/v1/campaigns/x"},
		{"campaign step bad offset", "PUT", "/v1/campaigns/x", campaign(with(step, "offset", "-3 days")), 422, api.CodeInvalid, "steps[0].offset", "/v1/campaigns/x"},
		{"campaign step bad at", "PUT", "/v1/campaigns/x", campaign(with(with(with(step, "offset", nil), "day", -1), "at", "9am")), 422, api.CodeInvalid, "steps[0].at", "/v1/campaigns/x"},
		{"campaign unknown template", "PUT", "/v1/campaigns/x", campaign(with(step, "template", "nope")), 422, api.CodeInvalid, "steps[0].template", "/v1/campaigns/x"},
		{"campaign unknown variable", "PUT", "/v1/campaigns/x", campaign(with(with(step, "template", nil), "content", map[string]any{"en": map[string]any{"text": "Hi {{.Patient.Nmae}}"}})), 422, api.CodeInvalid, "steps[0].content", "/v1/campaigns/x"},
		{"campaign email without subject", "PUT", "/v1/campaigns/x", campaign(with(with(with(step, "template", nil), "channel", "email"), "content", map[string]any{"en": map[string]any{"text": "Hi"}})), 422, api.CodeInvalid, "steps[0].content", "/v1/campaigns/x"},
		{"campaign channel", "PUT", "/v1/campaigns/x", campaign(with(step, "channel", "fax")), 422, api.CodeInvalid, "steps[0].channel", "/v1/campaigns/x"},
		{"messages since", "GET", "/v1/messages?since=yesterday", nil, 422, api.CodeInvalid, "since", ""},
		{"messages limit", "GET", "/v1/messages?limit=0", nil, 422, api.CodeInvalid, "query.limit", ""},
		{"clinic zone", "PUT", "/v1/clinic", map[string]any{"name": "A", "time_zone": "Nowhere"}, 422, api.CodeInvalid, "time_zone", ""},
		{"clinic quiet hours", "PUT", "/v1/clinic", map[string]any{"name": "A", "time_zone": "UTC", "quiet_hours": map[string]any{"enabled": true, "start": "25:00"}}, 422, api.CodeInvalid, "quiet_hours.start", ""},
		{"clinic inbox hours language", "PUT", "/v1/clinic", map[string]any{"name": "A", "time_zone": "UTC", "inbox_hours": map[string]any{"english!": "weekdays"}}, 422, api.CodeInvalid, "inbox_hours.english!", ""},
		{"clinic inbox hours blank", "PUT", "/v1/clinic", map[string]any{"name": "A", "time_zone": "UTC", "inbox_hours": map[string]any{"en": " "}}, 422, api.CodeInvalid, "inbox_hours.en", ""},
		{"clinic inbox hours long", "PUT", "/v1/clinic", map[string]any{"name": "A", "time_zone": "UTC", "inbox_hours": map[string]any{"es": strings.Repeat("x", 101)}}, 422, api.CodeInvalid, "inbox_hours.es", ""},
		{"clinic inbox hours two lines", "PUT", "/v1/clinic", map[string]any{"name": "A", "time_zone": "UTC", "inbox_hours": map[string]any{"en": "weekdays\nCALL NOW"}}, 422, api.CodeInvalid, "inbox_hours.en", ""},
		{"unknown route", "GET", "/v1/nothing", nil, 404, api.CodeNotFound, "", ""},
		{"wrong method", "POST", "/v1/patients/x", patient, 405, api.CodeMethod, "", "/v1/patients/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
			st, body := b.do(b.keyA, tt.method, tt.path, tt.body)
			checkError(t, st, body, tt.status, tt.code, tt.field)
			if tt.unchanged != "" {
				st, _ := b.do(b.keyA, http.MethodGet, tt.unchanged, nil)
				if st != http.StatusNotFound {
					t.Fatalf("GET %s = %d after a rejected request, want 404", tt.unchanged, st)
				}
			}
			if tt.path == "/v1/clinic" {
				c, err := b.st.ClinicGet(context.Background(), b.clinic.ID)
				if err != nil || c.TimeZone != b.clinic.TimeZone || c.QuietHours != b.clinic.QuietHours || c.InboxHours != nil {
					t.Fatalf("clinic changed by a rejected request: %+v %v", c, err)
				}
			}
		})
	}
}

func TestClinicIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/campaigns/c1", campaign(map[string]any{"offset": "-24h", "channel": "sms", "template": "appointment_reminder"}), http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusCreated)

	for _, path := range []string{"/v1/patients/p1", "/v1/appointments/a1", "/v1/campaigns/c1"} {
		st, body := b.do(b.keyB, http.MethodGet, path, nil)
		checkError(t, st, body, http.StatusNotFound, api.CodeNotFound, "")
	}
	st, body := b.do(b.keyB, http.MethodDelete, "/v1/campaigns/c1", nil)
	checkError(t, st, body, http.StatusNotFound, api.CodeNotFound, "")
	// B cannot book on A's patient.
	st, body = b.do(b.keyB, http.MethodPut, "/v1/appointments/a1", appointment(future))
	checkError(t, st, body, http.StatusUnprocessableEntity, api.CodeInvalid, "patient_id")
	// The same id in B is B's own patient; A's is untouched.
	b.must(b.keyB, http.MethodPut, "/v1/patients/p1", map[string]any{"first_name": "Other", "email": "other@example.com"}, http.StatusCreated)
	got := b.must(b.keyA, http.MethodGet, "/v1/patients/p1", nil, http.StatusOK)
	if got["first_name"] != "Ana" || got["phone"] != "+14155550123" {
		t.Fatalf("A's patient changed through B: %v", got)
	}
	list := b.must(b.keyB, http.MethodGet, "/v1/campaigns", nil, http.StatusOK)
	if cs := list["campaigns"].([]any); len(cs) != 0 {
		t.Fatalf("B lists A's campaigns: %v", cs)
	}
	b.must(b.keyA, http.MethodGet, "/v1/campaigns/c1", nil, http.StatusOK)
	msgs := b.must(b.keyB, http.MethodGet, "/v1/messages", nil, http.StatusOK)
	if ms := msgs["messages"].([]any); len(ms) != 0 {
		t.Fatalf("B sees messages: %v", ms)
	}
}

func TestUpsertOutcomesAndPlannedSends(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/campaigns/c1", map[string]any{"name": "R", "steps": []any{
		map[string]any{"id": "sms", "offset": "-24h", "channel": "sms", "template": "appointment_reminder"},
		map[string]any{"id": "mail", "day": -1, "at": "09:00", "channel": "email", "template": "appointment_reminder"},
	}}, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusOK)
	a := b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusCreated)
	if a["version"].(float64) != 1 || len(a["sends"].([]any)) != 2 {
		t.Fatalf("appointment = %v, want version 1 with 2 sends", a)
	}
	for _, s := range a["sends"].([]any) {
		if s.(map[string]any)["status"] != "planned" {
			t.Fatalf("send %v, want planned", s)
		}
	}
	a = b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusOK)
	if a["version"].(float64) != 1 {
		t.Fatalf("an identical upsert moved the version to %v", a["version"])
	}
	res := b.must(b.keyA, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": []any{
		map[string]any{"id": "a1", "patient_id": "p1", "start": future, "duration": "45m"},
		map[string]any{"id": "a2", "patient_id": "p1", "start": future},
	}}, http.StatusOK)
	want := []string{"updated", "created"}
	for i, r := range res["results"].([]any) {
		if r.(map[string]any)["outcome"] != want[i] {
			t.Fatalf("batch results %v, want outcomes %v", res, want)
		}
	}
	a = b.must(b.keyA, http.MethodGet, "/v1/appointments/a1", nil, http.StatusOK)
	superseded := 0
	for _, s := range a["sends"].([]any) {
		if s.(map[string]any)["status"] == "superseded" {
			superseded++
		}
	}
	if a["version"].(float64) != 2 || superseded != 2 {
		t.Fatalf("after the change: version %v with %d superseded sends, want 2 and 2: %v", a["version"], superseded, a["sends"])
	}
}

// TestOpenAPIMatchesHandlers checks that the document is generated from the
// handlers: every documented operation is served, its declared security is
// what it does (401 without a key exactly when it declares the bearer key),
// and the routes we rely on are documented with the bearer scheme and the
// error shape.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := b.must("", http.MethodGet, "/openapi.json", nil, http.StatusOK)
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/patients/{id}", "/v1/appointments/{id}", "/v1/appointments/batch", "/v1/campaigns/{id}", "/v1/campaigns", "/v1/messages", "/v1/clinic", "/healthz", "/readyz"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	comps := doc["components"].(map[string]any)
	if _, ok := comps["securitySchemes"].(map[string]any)["bearer"]; !ok {
		t.Error("OpenAPI lacks the bearer security scheme")
	}
	if _, ok := comps["schemas"].(map[string]any)["Error"]; !ok {
		t.Error("OpenAPI lacks the Error schema")
	}
	for p, item := range paths {
		for method, o := range item.(map[string]any) {
			path := strings.NewReplacer("{id}", "x", "{token}", "x", "{message_id}", "x").Replace(p)
			req, _ := http.NewRequest(strings.ToUpper(method), b.srv.URL+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			st := resp.StatusCode
			sec, declared := o.(map[string]any)["security"].([]any)
			secured := len(sec) > 0
			if !declared {
				t.Errorf("%s %s declares no security (public operations declare an empty list)", method, p)
			}
			if secured != (st == http.StatusUnauthorized) {
				t.Errorf("%s %s: declared security %v, answered %d without a key", method, p, sec, st)
			}
			if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
				t.Errorf("%s %s is documented but not served (%d)", method, p, st)
			}
		}
	}

}

// syncBuffer is a log destination that tests read while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The clinic's inbox hours are kept by primary language, shown back, kept
// when omitted and cleared by an empty object.
func TestClinicInboxHours(t *testing.T) {
	t.Parallel()
	b := setup(t)
	put := func(body map[string]any) map[string]any {
		body["name"], body["time_zone"] = "Harbor", "America/Chicago"
		return b.must(b.keyA, http.MethodPut, "/v1/clinic", body, http.StatusOK)
	}
	got := put(map[string]any{"inbox_hours": map[string]any{"en-US": " weekdays 8 AM to 5 PM ", "es-MX": "de lunes a viernes"}})
	want := map[string]any{"en": "weekdays 8 AM to 5 PM", "es": "de lunes a viernes"}
	if !reflect.DeepEqual(got["inbox_hours"], want) {
		t.Fatalf("inbox_hours = %v, want %v", got["inbox_hours"], want)
	}
	c, err := b.st.ClinicGet(context.Background(), b.clinic.ID)
	if err != nil || c.InboxHours["es"] != "de lunes a viernes" {
		t.Fatalf("stored: %v %v", c.InboxHours, err)
	}
	if got := put(map[string]any{}); !reflect.DeepEqual(got["inbox_hours"], want) {
		t.Fatalf("inbox_hours after a PUT without them = %v, want kept", got["inbox_hours"])
	}
	if got := put(map[string]any{"inbox_hours": map[string]any{}}); got["inbox_hours"] != nil {
		t.Fatalf("inbox_hours after {} = %v, want cleared", got["inbox_hours"])
	}
}
