package ehr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/ehr"
)

// TestMapFHIRBundleAsEHRsSendIt: a Patient POSTed with a urn:uuid fullUrl
// and an identifier, and an Appointment updated by a conditional PUT on its
// identifier that refers to the patient by that urn:uuid (the Appointment
// first, as the order of entries does not matter).
func TestMapFHIRBundleAsEHRsSendIt(t *testing.T) {
	t.Parallel()
	b, err := ehr.MapFHIRBundle(readFHIR(t, "bundle-transaction-ehr.json"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) != 2 {
		t.Fatalf("entries: %+v", b.Entries)
	}
	a, p := b.Entries[0], b.Entries[1]
	if a.Type != "Appointment" || a.ID != "123" || a.Method != "PUT" || a.IfNoneExist || a.Appointment == nil {
		t.Fatalf("appointment entry %+v", a)
	}
	if a.Appointment.Appointment.ID != "123" || a.Appointment.Appointment.PatientID != "12345" || a.Appointment.PatientRef != "Patient/12345" ||
		a.Appointment.Patient == nil || a.Appointment.Patient.Phone != "+16175550142" || a.PatientEntry != 1 ||
		a.Appointment.Appointment.Start != time.Date(2030, 12, 10, 9, 0, 0, 0, time.UTC) || a.Appointment.Appointment.Type != "FOLLOWUP" {
		t.Fatalf("appointment %+v (patient entry %d)", a.Appointment, a.PatientEntry)
	}
	if p.Type != "Patient" || p.ID != "12345" || p.Patient == nil || p.Patient.ID != "12345" || p.Patient.LastName != "Chalmers" {
		t.Fatalf("patient entry %+v", p)
	}
	// The rewritten resource: its id set, the reference rewritten.
	var raw map[string]any
	if err := json.Unmarshal(a.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["id"] != "123" || !strings.Contains(string(a.Raw), `"reference":"Patient/12345"`) || strings.Contains(string(a.Raw), "urn:uuid") {
		t.Fatalf("rewritten appointment: %s", a.Raw)
	}
	if got := b.ProcessingOrder(); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("processing order %v: the POST goes before the PUT", got)
	}
}

// TestMapFHIRBundleSpecExample: the specification's transaction example
// (bundle-transaction). Beckon keys patients by the EHR's ids, so the plain
// POST of a Patient without id or identifier is refused, naming the entry;
// the DELETE and GET entries are refused as not supported; the others get
// their identity from the request.
func TestMapFHIRBundleSpecExample(t *testing.T) {
	t.Parallel()
	raw := readFHIR(t, "bundle-transaction-spec.json")
	_, err := ehr.MapFHIRBundle(raw, time.UTC)
	var fe *ehr.FHIRError
	if !errors.As(err, &fe) || fe.Expression != "Bundle.entry[0].resource.identifier" || fe.Code != "required" {
		t.Fatalf("transaction: %v", err)
	}
	batch := strings.Replace(string(raw), `"type": "transaction"`, `"type": "batch"`, 1)
	b, err := ehr.MapFHIRBundle([]byte(batch), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		id, expr    string
		ifNoneExist bool
	}
	wants := []want{
		{expr: "Bundle.entry[0].resource.identifier"},
		{id: "234234", ifNoneExist: true},
		{id: "123"},
		{id: "234234"}, // a batch may change a resource twice
		{expr: "Bundle.entry[4].request.method"},
		{expr: "Bundle.entry[5].request.method"},
	}
	for i, w := range wants {
		e := b.Entries[i]
		var fe *ehr.FHIRError
		gotExpr := ""
		if errors.As(e.Err, &fe) {
			gotExpr = fe.Expression
		}
		if e.ID != w.id || gotExpr != w.expr || e.IfNoneExist != w.ifNoneExist || (w.id != "" && (e.Patient == nil || e.Patient.ID != w.id)) {
			t.Errorf("entry %d: id %q, ifNoneExist %v, err %v; want %+v", i, e.ID, e.IfNoneExist, e.Err, w)
		}
	}
	// DELETE first, then POST (the Patient before the entry of unknown
	// type), then PUT, then GET.
	if got := b.ProcessingOrder(); !slices.Equal(got, []int{4, 1, 0, 2, 3, 5}) {
		t.Fatalf("processing order %v", got)
	}
}

// bundle builds a Bundle of the given type from entries written as JSON.
func bundle(typ string, entries ...string) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"Bundle","type":%q,"entry":[%s]}`, typ, strings.Join(entries, ",")))
}

const (
	entryPatientPOST = `{"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient",
		"identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"MRN-1"}],"name":[{"family":"Lopez","given":["Ana"]}]},
		"request":{"method":"POST","url":"Patient"}}`
	entryAppointmentPUT = `{"fullUrl":"urn:uuid:5b0c8d3e-9f5b-4c4e-8f55-0d1c7f1b2a11","resource":{"resourceType":"Appointment",
		"identifier":[{"system":"urn:oid:1.2.3","value":"A-1"}],"status":"booked","start":"2030-01-01T10:00:00Z","minutesDuration":15,
		"participant":[{"actor":{"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},"status":"accepted"}]},
		"request":{"method":"PUT","url":"Appointment?identifier=urn:oid:1.2.3|A-1"}}`
)

// withEntry edits one JSON entry: old → new, once.
func withEntry(entry, old, new string) string {
	if !strings.Contains(entry, old) {
		panic("withEntry: " + old + " is not in the entry")
	}
	return strings.Replace(entry, old, new, 1)
}

func TestMapFHIRBundleIdentities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		entry       string
		id          string
		ifNoneExist bool
	}{
		{"POST by identifier", entryPatientPOST, "MRN-1", false},
		{"POST with an id", withEntry(entryPatientPOST, `"resourceType":"Patient",`, `"resourceType":"Patient","id":"p-7",`), "p-7", false},
		{"POST ifNoneExist", withEntry(entryPatientPOST, `"url":"Patient"`, `"url":"Patient","ifNoneExist":"identifier=urn:oid:1.2.36.146.595.217.0.1|MRN-1"`), "MRN-1", true},
		{"POST ifNoneExist without system", withEntry(entryPatientPOST, `"url":"Patient"`, `"url":"Patient","ifNoneExist":"?identifier=MRN-2"`), "MRN-2", true},
		{"PUT by id", withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient/p-9"`), "p-9", false},
		{"conditional PUT", withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient?identifier=urn:oid:1.2.36.146.595.217.0.1%7CMRN-3"`), "MRN-3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := ehr.MapFHIRBundle(bundle("transaction", tt.entry, entryAppointmentPUT), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			p, a := b.Entries[0], b.Entries[1]
			if p.ID != tt.id || p.IfNoneExist != tt.ifNoneExist || p.Patient == nil || p.Patient.ID != tt.id {
				t.Fatalf("patient entry %+v", p)
			}
			if a.ID != "A-1" || a.Appointment.Appointment.PatientID != tt.id || a.PatientEntry != 0 {
				t.Fatalf("appointment entry %+v, %+v", a, a.Appointment)
			}
		})
	}
}

// TestMapFHIRBundleErrors: each error names the entry and the element at
// fault; a transaction fails on it, a batch keeps it on the entry and maps
// the others.
func TestMapFHIRBundleErrors(t *testing.T) {
	t.Parallel()
	okPatient := withEntry(entryPatientPOST, "urn:uuid:0c3151bd", "urn:uuid:1d3151bd") // nobody refers to it
	tests := []struct {
		name    string
		entries []string
		code    string
		expr    string
		// batch is, entry by entry, the expression of its error in a
		// batch ("" when it maps); nil: only the transaction's entry fails.
		batch []string
	}{
		{"no request", []string{withEntry(entryPatientPOST, `,
		"request":{"method":"POST","url":"Patient"}`, ``)}, "required", "Bundle.entry[0].request", nil},
		{"DELETE", []string{`{"request":{"method":"DELETE","url":"Appointment/a1"}}`}, "not-supported", "Bundle.entry[0].request.method", nil},
		{"not a verb", []string{withEntry(entryPatientPOST, `"POST"`, `"FETCH"`)}, "value", "Bundle.entry[0].request.method", nil},
		{"not a Bundle structure", []string{withEntry(entryPatientPOST, `"url":"Patient"`, `"url":7`)}, "structure", "Bundle", nil},
		{"no resource", []string{`{"request":{"method":"PUT","url":"Patient/p1"}}`}, "required", "Bundle.entry[0].resource", nil},
		{"another type", []string{`{"resource":{"resourceType":"Practitioner","id":"d1"},"request":{"method":"PUT","url":"Practitioner/d1"}}`}, "not-supported", "Bundle.entry[0].resource", nil},
		{"POST without id or identifier", []string{withEntry(entryPatientPOST, `"identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"MRN-1"}],`, ``)}, "required", "Bundle.entry[0].resource.identifier", nil},
		{"POST to an id", []string{withEntry(entryPatientPOST, `"url":"Patient"`, `"url":"Patient/p1"`)}, "value", "Bundle.entry[0].request.url", nil},
		{"url of another type", []string{withEntry(entryPatientPOST, `"url":"Patient"`, `"url":"Appointment"`)}, "invalid", "Bundle.entry[0].request.url", nil},
		{"absolute url", []string{withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"https://ehr.example/fhir/Patient/p1"`)}, "value", "Bundle.entry[0].request.url", nil},
		{"id differs from the url", []string{okPatient, withEntry(withEntry(entryPatientPOST, `"resourceType":"Patient",`, `"resourceType":"Patient","id":"p2",`),
			`"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient/p1"`)}, "invalid", "Bundle.entry[1].resource.id", nil},
		{"conditional PUT by name", []string{withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient?name=peter"`)}, "not-supported", "Bundle.entry[0].request.url", nil},
		{"conditional PUT without a value", []string{withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient?identifier=urn:oid:1.2|"`)}, "value", "Bundle.entry[0].request.url", nil},
		{"ifNoneExist by name", []string{withEntry(entryPatientPOST, `"url":"Patient"`, `"url":"Patient","ifNoneExist":"name=peter"`)}, "not-supported", "Bundle.entry[0].request.ifNoneExist", nil},
		{"invalid id", []string{withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient?identifier=a%2Fb"`)}, "value", "Bundle.entry[0].request.url", nil},
		{"duplicate fullUrl", []string{entryPatientPOST, withEntry(okPatient, "urn:uuid:1d3151bd", "urn:uuid:0c3151bd")}, "invalid", "Bundle.entry[1].fullUrl", nil},
		{"one resource twice", []string{entryPatientPOST, withEntry(okPatient, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient/MRN-1"`)}, "invalid", "Bundle.entry[1].request", []string{"", ""}},
		{"urn:uuid of no entry", []string{okPatient, entryAppointmentPUT}, "not-found", "Bundle.entry[1].resource.participant[0].actor.reference", nil},
		{"urn:uuid in a key of another case", []string{okPatient, withEntry(entryAppointmentPUT, `"reference"`, `"Reference"`)}, "not-found", "Bundle.entry[1].resource.participant[0].actor.Reference", nil},
		{"conditional reference", []string{withEntry(entryAppointmentPUT, `"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"`, `"reference":"Patient?identifier=MRN-1"`)}, "not-supported", "Bundle.entry[0].resource.participant[0].actor.reference", nil},
		{"refers to a bad entry", []string{withEntry(entryPatientPOST, `"identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"MRN-1"}],`, ``), entryAppointmentPUT},
			"required", "Bundle.entry[0].resource.identifier", []string{"Bundle.entry[0].resource.identifier", "Bundle.entry[1].resource.participant[0].actor.reference"}},
		{"bad patient entry", []string{withEntry(entryPatientPOST, `"name":[{"family":"Lopez","given":["Ana"]}]`, `"name":{"family":"Lopez"}`), entryAppointmentPUT},
			"structure", "Bundle.entry[0].resource", []string{"Bundle.entry[0].resource", "Bundle.entry[1].resource.participant[0].actor"}},
		{"bad appointment", []string{entryPatientPOST, withEntry(entryAppointmentPUT, `"status":"booked"`, `"status":"maybe"`)}, "value", "Bundle.entry[1].resource.status", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ehr.MapFHIRBundle(bundle("transaction", tt.entries...), time.UTC)
			var fe *ehr.FHIRError
			if !errors.As(err, &fe) || fe.Expression != tt.expr || fe.Code != tt.code {
				t.Fatalf("transaction: %v; want %s at %s", err, tt.code, tt.expr)
			}
			if strings.Contains(fe.Reason, "contained") {
				t.Fatalf("misleading reason: %v", err)
			}
			if tt.expr == "Bundle" {
				return // the whole bundle is unreadable
			}
			b, err := ehr.MapFHIRBundle(bundle("batch", tt.entries...), time.UTC)
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			want := tt.batch
			if want == nil {
				want = make([]string, len(tt.entries))
				for i := range want {
					if strings.HasPrefix(tt.expr, fmt.Sprintf("Bundle.entry[%d].", i)) {
						want[i] = tt.expr
					}
				}
			}
			for i, e := range b.Entries {
				got := ""
				if errors.As(e.Err, &fe) {
					got = fe.Expression
				}
				if got != want[i] {
					t.Errorf("batch entry %d: %v; want an error at %q", i, e.Err, want[i])
				}
			}
		})
	}
}

func TestMapFHIRBundleResolution(t *testing.T) {
	t.Parallel()
	t.Run("absolute fullUrl of a PUT", func(t *testing.T) {
		t.Parallel()
		p := withEntry(withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient/p-5"`),
			"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "https://ehr.example/fhir/Patient/p-5")
		a := withEntry(entryAppointmentPUT, "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "https://ehr.example/fhir/Patient/p-5")
		b, err := ehr.MapFHIRBundle(bundle("transaction", a, p), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Entries[0].Appointment; got.Appointment.PatientID != "p-5" || got.Patient == nil || b.Entries[0].PatientEntry != 1 {
			t.Fatalf("appointment %+v", got)
		}
	})
	t.Run("Type/id of an entry", func(t *testing.T) {
		t.Parallel()
		p := withEntry(entryPatientPOST, `"method":"POST","url":"Patient"`, `"method":"PUT","url":"Patient/p-6"`)
		a := withEntry(entryAppointmentPUT, "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "Patient/p-6")
		b, err := ehr.MapFHIRBundle(bundle("transaction", p, a), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Entries[1].Appointment; got.Appointment.PatientID != "p-6" || got.Patient == nil || got.Patient.LastName != "Lopez" {
			t.Fatalf("appointment %+v", got)
		}
	})
	t.Run("a patient outside the bundle", func(t *testing.T) {
		t.Parallel()
		a := withEntry(entryAppointmentPUT, "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "Patient/known-1")
		b, err := ehr.MapFHIRBundle(bundle("transaction", a), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Entries[0]; got.Appointment.Appointment.PatientID != "known-1" || got.Appointment.Patient != nil || got.PatientEntry != -1 {
			t.Fatalf("appointment %+v", got)
		}
	})
	t.Run("POST of an appointment", func(t *testing.T) {
		t.Parallel()
		a := withEntry(entryAppointmentPUT, `"method":"PUT","url":"Appointment?identifier=urn:oid:1.2.3|A-1"`, `"method":"POST","url":"Appointment","ifNoneExist":"identifier=urn:oid:1.2.3|A-1"`)
		b, err := ehr.MapFHIRBundle(bundle("transaction", a, entryPatientPOST), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Entries[0]; got.ID != "A-1" || !got.IfNoneExist || got.Appointment.Appointment.ID != "A-1" || got.Appointment.Appointment.Duration != 15*time.Minute {
			t.Fatalf("appointment %+v", got)
		}
		// Patients before appointments among the POSTs.
		if got := b.ProcessingOrder(); !slices.Equal(got, []int{1, 0}) {
			t.Fatalf("processing order %v", got)
		}
	})
}

// FuzzMapFHIRBundle: whatever the bundle, no panic, errors are FHIR errors
// naming their entry, and what maps is usable: a valid id on every entry
// that has no error, the resource mapped with that id, a transaction never
// half mapped, and a processing order that holds every entry once.
func FuzzMapFHIRBundle(f *testing.F) {
	for _, name := range []string{"bundle-transaction-ehr.json", "bundle-transaction-spec.json", "bundle-transaction-patient.json"} {
		f.Add(readFHIR(f, name))
	}
	f.Add(bundle("batch", entryPatientPOST, entryAppointmentPUT))
	f.Add(bundle("transaction", entryAppointmentPUT, withEntry(entryPatientPOST, `"url":"Patient"`, `"url":"Patient","ifNoneExist":"identifier=x|MRN-1"`)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := ehr.MapFHIRBundle(raw, time.UTC)
		var fe *ehr.FHIRError
		if err != nil {
			if !errors.As(err, &fe) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		order := b.ProcessingOrder()
		sorted := slices.Clone(order)
		slices.Sort(sorted)
		for i, k := range sorted {
			if i != k {
				t.Fatalf("processing order %v", order)
			}
		}
		for i, e := range b.Entries {
			if e.Index != i {
				t.Fatalf("entry %d has index %d", i, e.Index)
			}
			if e.Err != nil {
				if b.Type == "transaction" {
					t.Fatalf("a transaction mapped with a bad entry: %v", e.Err)
				}
				if !errors.As(e.Err, &fe) || !strings.HasPrefix(fe.Expression, fmt.Sprintf("Bundle.entry[%d]", i)) {
					t.Fatalf("entry %d: error %v does not name it", i, e.Err)
				}
				continue
			}
			if !ehr.ValidID(e.ID) {
				t.Fatalf("entry %d: id %q", i, e.ID)
			}
			switch e.Type {
			case "Patient":
				if e.Patient == nil || e.Patient.ID != e.ID || e.Appointment != nil {
					t.Fatalf("patient entry %d: %+v", i, e)
				}
			case "Appointment":
				if e.Appointment == nil || e.Appointment.Appointment.ID != e.ID || e.Patient != nil || !ehr.ValidID(e.Appointment.Appointment.PatientID) {
					t.Fatalf("appointment entry %d: %+v", i, e)
				}
				if e.PatientEntry >= 0 && b.Entries[e.PatientEntry].ID != e.Appointment.Appointment.PatientID {
					t.Fatalf("appointment entry %d: patient entry %d is another patient", i, e.PatientEntry)
				}
			default:
				t.Fatalf("entry %d of type %q", i, e.Type)
			}
		}
	})
}
