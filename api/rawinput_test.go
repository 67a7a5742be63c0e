package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/store/storetest"
)

// bodyOperation is an operation of the OpenAPI document that takes a JSON body.
type bodyOperation struct {
	method, path string
	schema       map[string]any // the body's schema, $ref resolved
}

func bodyOperations(t *testing.T, doc map[string]any) []bodyOperation {
	t.Helper()
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var ops []bodyOperation
	for p, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			rb, ok := o.(map[string]any)["requestBody"].(map[string]any)
			if !ok || o.(map[string]any)[api.PlainExtension] == true {
				continue
			}
			sch := rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
			if ref, ok := sch["$ref"].(string); ok {
				sch = schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
			}
			ops = append(ops, bodyOperation{method: strings.ToUpper(method), path: p, schema: sch})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	if len(ops) < 8 {
		t.Fatalf("only %d operations with a body in the OpenAPI document", len(ops))
	}
	return ops
}

// sampleJSON is a value of the schema's type (not necessarily valid).
func sampleJSON(sch map[string]any) string {
	typ := sch["type"]
	if list, ok := typ.([]any); ok && len(list) > 0 {
		typ = list[0]
	}
	switch typ {
	case "boolean":
		return "true"
	case "integer", "number":
		return "1"
	case "array":
		return "[]"
	case "object":
		return "{}"
	case nil:
		if _, ok := sch["$ref"]; ok {
			return "{}"
		}
	}
	if enum, ok := sch["enum"].([]any); ok && len(enum) > 0 {
		return fmt.Sprintf("%q", enum[0])
	}
	return `"x"`
}

// Every operation's body refuses a key given twice in another letter case,
// naming the second key: the decoder would take one and the validator check
// the other.
func TestCaseDuplicatedKeysOnEveryBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := b.must("", http.MethodGet, "/openapi.json", nil, http.StatusOK)
	for _, op := range bodyOperations(t, doc) {
		props := op.schema["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			v := sampleJSON(props[name].(map[string]any))
			for _, other := range []string{strings.ToUpper(name[:1]) + name[1:], strings.ToUpper(name), strings.ReplaceAll(name, "s", "ſ")} {
				if other == name {
					continue
				}
				t.Run(op.method+" "+op.path+" "+other, func(t *testing.T) {
					path := strings.ReplaceAll(op.path, "{id}", "dupkeys")
					body := fmt.Sprintf(`{%q:%s,%q:%s}`, name, v, other, v)
					st, out := b.do(b.keyA, op.method, path, body)
					checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, other)
					if !strings.Contains(out["message"].(string), "repeats the key") {
						t.Errorf("message %q does not say the key repeats", out["message"])
					}
				})
			}
		}
	}
}

// The bypasses the issue found: each stored a value no field rule allowed.
func TestCaseDuplicatedKeysStoreNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusCreated)
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name, method, path, body, field, unchanged string
	}{
		{"long name", "PUT", "/v1/patients/x", `{"first_name":"Alice","First_Name":"` + long + `","phone":"+14155550123"}`, "First_Name", "/v1/patients/x"},
		{"fax", "PUT", "/v1/patients/x", `{"first_name":"Alice","phone":"+14155550123","preferred_channel":"sms","Preferred_Channel":"fax"}`, "Preferred_Channel", "/v1/patients/x"},
		{"long s", "PUT", "/v1/patients/x", `{"first_name":"Alice","firſt_name":"` + long + `","phone":"+14155550123"}`, "firſt_name", "/v1/patients/x"},
		{"pwned", "POST", "/v1/appointments/a1/confirmation", `{"response":"confirmed","Response":"pwned","by":"staff","method":"phone"}`, "Response", ""},
		{"step id", "PUT", "/v1/campaigns/x", `{"name":"R","steps":[{"id":"ok","Id":"a/b","offset":"-24h","channel":"sms","template":"appointment_reminder"}]}`, "steps[0].Id", "/v1/campaigns/x"},
		{"batch id", "POST", "/v1/appointments/batch", `{"appointments":[{"id":"ok-1","ID":"a b/c","patient_id":"p1","start":"` + future + `"}]}`, "appointments[0].ID", "/v1/appointments/ok-1"},
		{"nested key", "PUT", "/v1/clinic", `{"name":"A","time_zone":"UTC","quiet_hours":{"enabled":true,"Enabled":false}}`, "quiet_hours.Enabled", ""},
	}
	for _, tt := range tests {
		st, out := b.do(b.keyA, tt.method, tt.path, tt.body)
		checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, tt.field)
		if tt.unchanged != "" {
			if st, _ := b.do(b.keyA, http.MethodGet, tt.unchanged, nil); st != http.StatusNotFound {
				t.Errorf("%s: GET %s = %d after a rejected request, want 404", tt.name, tt.unchanged, st)
			}
		}
	}
	conf := b.must(b.keyA, http.MethodGet, "/v1/appointments/a1/confirmation", nil, http.StatusOK)
	if cs := conf["confirmations"].([]any); len(cs) != 0 {
		t.Errorf("a rejected confirmation was recorded: %v", cs)
	}
	// A key in another case alone is an unknown field, not first_name.
	st, out := b.do(b.keyA, http.MethodPut, "/v1/patients/x", `{"First_Name":"Alice","phone":"+14155550123"}`)
	checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, "")
}

// NUL and text that is not UTF-8 are refused with the field named, in bodies
// (strings and keys, at any depth), paths and queries, on both stores.
func TestNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"NUL escape", "PUT", "/v1/patients/x", `{"first_name":"Al\u0000ice","phone":"+14155550123"}`, "first_name"},
		{"raw invalid byte", "PUT", "/v1/patients/x", "{\"first_name\":\"Al\xffice\",\"phone\":\"+14155550123\"}", "first_name"},
		{"lone surrogate", "PUT", "/v1/patients/x", `{"first_name":"Al\ud800ice","phone":"+14155550123"}`, "first_name"},
		{"deep", "PUT", "/v1/campaigns/x", `{"name":"R","steps":[{"offset":"-24h","channel":"sms","content":{"en":{"text":"Hi\u0000"}}}]}`, "steps[0].content.en.text"},
		{"in a key", "PUT", "/v1/campaigns/x", `{"name":"R","steps":[{"offset":"-24h","channel":"sms","content":{"e\u0000n":{"text":"Hi"}}}]}`, "steps[0].content"},
		{"batch", "POST", "/v1/appointments/batch", `{"appointments":[{"id":"a1","patient_id":"p1","start":"` + future + `","type":"x\u0000"}]}`, "appointments[0].type"},
		{"query NUL", "GET", "/v1/messages?patient_id=%00", "", "query.patient_id"},
		{"query not UTF-8", "GET", "/v1/outbox?to=%ff", "", "query.to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			st, out := b.do(b.keyA, tt.method, tt.path, body)
			checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, tt.field)
		})
	}
	// The character U+FFFD itself, sent as such, is text like any other.
	b.must(b.keyA, http.MethodPut, "/v1/patients/x", `{"first_name":"Al\ufffdice �","phone":"+14155550123"}`, http.StatusCreated)
}

func TestNullArraysAndBlankStrings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusCreated)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"null steps", "PUT", "/v1/campaigns/x", `{"name":"R","steps":null}`, "steps"},
		{"null appointments", "POST", "/v1/appointments/batch", `{"appointments":null}`, "appointments"},
		{"blank first name", "PUT", "/v1/patients/x", `{"first_name":"  ","phone":"+14155550123"}`, "first_name"},
		{"blank campaign name", "PUT", "/v1/campaigns/x", `{"name":"\t","steps":[{"offset":"-24h","channel":"sms","template":"appointment_reminder"}]}`, "name"},
		{"blank clinic name", "PUT", "/v1/clinic", `{"name":" ","time_zone":"UTC"}`, "name"},
		{"blank by", "POST", "/v1/appointments/a1/confirmation", `{"response":"confirmed","by":"   ","method":"phone"}`, "by"},
		{"blank patient id", "PUT", "/v1/appointments/x", `{"patient_id":" ","start":"` + future + `"}`, "patient_id"},
	}
	for _, tt := range tests {
		st, out := b.do(b.keyA, tt.method, tt.path, tt.body)
		if st != http.StatusUnprocessableEntity || out["field"] != tt.field {
			t.Errorf("%s: %d %v, want 422 naming %s", tt.name, st, out, tt.field)
		}
	}
	// Every string the API requires to be non-empty must also be non-blank:
	// a field added later without the rule fails here.
	doc := b.must("", http.MethodGet, "/openapi.json", nil, http.StatusOK)
	for name, s := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
		props, _ := s.(map[string]any)["properties"].(map[string]any)
		for prop, p := range props {
			p := p.(map[string]any)
			if p["type"] == "string" && p["minLength"] != nil && p["enum"] == nil && p["pattern"] == nil {
				t.Errorf("%s.%s has minLength but no pattern asking for a non-space character", name, prop)
			}
		}
	}
}

// An offset needs its sign: "72h" was planned after the visit.
func TestOffsetNeedsSign(t *testing.T) {
	t.Parallel()
	b := setup(t)
	step := func(offset string) map[string]any {
		return campaign(map[string]any{"id": "s", "offset": offset, "channel": "sms", "template": "appointment_reminder"})
	}
	st, out := b.do(b.keyA, http.MethodPut, "/v1/campaigns/c1", step("72h"))
	checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, "steps[0].offset")
	if !strings.Contains(out["message"].(string), "-72h") {
		t.Errorf("message %q does not show a signed offset", out["message"])
	}
	for _, tc := range []struct{ in, out string }{{"-72h", "-72h"}, {"+2h", "+2h"}, {"-1d", "-24h"}, {"-3m", "-3m"}} {
		if st, out := b.do(b.keyA, http.MethodPut, "/v1/campaigns/c1", step(tc.in)); st >= 300 {
			t.Fatalf("offset %s: %d %v", tc.in, st, out)
		}
		got := b.must(b.keyA, http.MethodGet, "/v1/campaigns/c1", nil, http.StatusOK)
		if o := got["steps"].([]any)[0].(map[string]any)["offset"]; o != tc.out {
			t.Errorf("offset %s reads back as %v, want %s", tc.in, o, tc.out)
		}
	}
}

// Instants outside 1900–2199 are refused at the REST entrance, single and
// batch, and in queries.
func TestInstantWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	for _, start := range []string{"0000-01-01T00:00:00+01:00", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"} {
		st, out := b.do(b.keyA, http.MethodPut, "/v1/appointments/x", appointment(start))
		checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, "start")
		st, out = b.do(b.keyA, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": []any{
			map[string]any{"id": "x", "patient_id": "p1", "start": start},
		}})
		checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, "appointments[0].start")
	}
	st, out := b.do(b.keyA, http.MethodGet, "/v1/messages?since=0000-01-01T00:00:00%2B01:00", nil)
	checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, "since")
	if st, _ := b.do(b.keyA, http.MethodGet, "/v1/appointments/x", nil); st != http.StatusNotFound {
		t.Fatalf("a refused appointment was stored: %d", st)
	}
}

// A record that cannot be encoded (a start stored before the window was
// enforced) is a 500 with a request id that the log repeats, with the
// appointment's id: never a dropped connection.
func TestEncodingFailureIsA500WithARequestID(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	b := setupLogged(t, slog.New(slog.NewJSONHandler(logs, nil)))
	p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{})
	a := storetest.Appointment(t, b.st, b.clinic.ID, storetest.AppointmentOpts{
		PatientID: p.ID,
		Start:     time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	for _, path := range []string{"/v1/appointments/" + a.ID, "/fhir/r4/Appointment/" + a.ID} {
		req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+b.keyA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v (the connection was dropped)", path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get(api.RequestIDHeader)
		if resp.StatusCode != http.StatusInternalServerError || id == "" || !strings.Contains(string(raw), id) {
			t.Fatalf("GET %s = %d %s (request id %q), want a 500 naming its request id", path, resp.StatusCode, raw, id)
		}
		if !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), a.ID) {
			t.Fatalf("the log has no line with request id %s and appointment %s: %s", id, a.ID, logs.String())
		}
	}
}

// The FHIR bodies (not decoded by huma) refuse a key given twice, in any
// case, with an OperationOutcome naming it; the refusal is archived.
func TestFHIRDuplicatedKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	appt := `{"resourceType":"Appointment","id":"f1","status":"booked","Status":"cancelled","start":"2030-01-01T10:00:00Z",
		"participant":[{"actor":{"reference":"Patient/p1"},"status":"needs-action"}]}`
	bundle := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Appointment","id":"f1","status":"booked",
		"start":"2030-01-01T10:00:00Z","participant":[{"actor":{"reference":"Patient/p1","Reference":"Patient/p2"}}]},"request":{"method":"PUT","url":"Appointment/f1"}}]}`
	for _, tc := range []struct{ method, path, body, expr string }{
		{http.MethodPost, "/fhir/r4/Appointment", appt, "Status"},
		{http.MethodPut, "/fhir/r4/Appointment/f1", appt, "Status"},
		{http.MethodPost, "/fhir/r4", bundle, "entry[0].resource.participant[0].actor.Reference"},
	} {
		st, out := b.do(b.ehrA, tc.method, tc.path, tc.body)
		issue, _ := out["issue"].([]any)
		if st != http.StatusUnprocessableEntity || out["resourceType"] != "OperationOutcome" || len(issue) != 1 {
			t.Fatalf("%s %s = %d %v, want 422 with an OperationOutcome", tc.method, tc.path, st, out)
		}
		if expr, _ := issue[0].(map[string]any)["expression"].([]any); len(expr) != 1 || expr[0] != tc.expr {
			t.Errorf("%s %s: expression %v, want %s", tc.method, tc.path, expr, tc.expr)
		}
	}
	if st, _ := b.do(b.keyA, http.MethodGet, "/v1/appointments/f1", nil); st != http.StatusNotFound {
		t.Fatalf("a refused FHIR appointment was stored: %d", st)
	}
	in, err := b.st.InboundList(context.Background(), beckon.InboundFilter{ClinicID: b.clinic.ID})
	if err != nil || len(in) != 3 || in[0].Result != beckon.FeedRejected || in[0].Outcome != "422" {
		t.Fatalf("archive: %d messages %+v, %v; want the 3 refusals", len(in), in, err)
	}
}
