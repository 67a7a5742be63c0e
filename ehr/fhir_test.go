package ehr_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
)

func readFHIR(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fhir", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMapFHIRAppointmentExamples(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		file string
		want ehr.FHIRAppointment
	}{
		{"appointment-example.json", ehr.FHIRAppointment{
			Appointment:  beckon.Appointment{ID: "example", Status: "booked", Start: time.Date(2013, 12, 10, 9, 0, 0, 0, time.UTC), Duration: 2 * time.Hour, Type: "FOLLOWUP", Provider: "example", ProviderName: "Dr Adam Careful", Location: "1", LocationName: "South Wing, second floor", PatientID: "example"},
			FHIRState:    "booked",
			Scheduled:    true,
			PatientRef:   "Patient/example",
			PatientIndex: 0,
		}},
		{"appointment-example-request.json", ehr.FHIRAppointment{
			Appointment:  beckon.Appointment{ID: "examplereq", Status: "cancelled", Duration: 15 * time.Minute, Type: "WALKIN", Location: "1", LocationName: "South Wing, second floor", PatientID: "example"},
			FHIRState:    "proposed",
			Scheduled:    false,
			PatientRef:   "Patient/example",
			PatientIndex: 0,
		}},
		{"appointment-example2doctors.json", ehr.FHIRAppointment{
			Appointment:  beckon.Appointment{ID: "2docs", Status: "booked", Start: time.Date(2013, 12, 9, 9, 0, 0, 0, time.UTC), Duration: 2 * time.Hour, Type: "WALKIN", Provider: "example", ProviderName: "Dr Adam Careful", PatientID: "example"},
			FHIRState:    "booked",
			Scheduled:    true,
			PatientRef:   "Patient/example",
			PatientIndex: 0,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := ehr.MapFHIRAppointment(readFHIR(t, tt.file), ny, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestMapFHIRParticipantNames: the provider's and location's ids (what
// campaigns match on) and names (what patients read) from the actor's
// reference and display, from a contained resource, or from one in the
// bundle.
func TestMapFHIRParticipantNames(t *testing.T) {
	t.Parallel()
	const head = `{"resourceType":"Appointment","id":"a1","status":"booked","start":"2030-01-01T10:00:00-05:00",`
	inBundle := map[string]string{
		"Practitioner/777": `{"resourceType":"Practitioner","id":"777","name":[{"use":"old","family":"Old"},{"use":"official","prefix":["Dr."],"given":["Ana"],"family":"Rivera"}]}`,
		"urn:uuid:loc-1":   `{"resourceType":"Location","identifier":[{"value":"MAIN"}],"name":"Main Street Clinic"}`,
	}
	resolve := func(ref string) (json.RawMessage, bool) {
		r, ok := inBundle[ref]
		return json.RawMessage(r), ok
	}
	tests := []struct {
		name, body                                     string
		provider, providerName, location, locationName string
	}{
		{"display", `"participant":[{"actor":{"reference":"Patient/p1"}},
			{"actor":{"reference":"Practitioner/777","display":" Dr. Ana\nRivera "}},
			{"actor":{"reference":"Location/MAIN","display":"Main Street Clinic"}}]}`,
			"777", "Dr. Ana Rivera", "MAIN", "Main Street Clinic"},
		{"contained", `"contained":[
			{"resourceType":"Practitioner","id":"pr","identifier":[{"value":"NPI-1"}],"name":[{"text":"Dr. Bo Kim"}]},
			{"resourceType":"Location","id":"lo","name":"North Annex"}],
			"participant":[{"actor":{"reference":"Patient/p1"}},
			{"actor":{"reference":"#pr"}},{"actor":{"reference":"#lo"}}]}`,
			"NPI-1", "Dr. Bo Kim", "North Annex", "North Annex"},
		{"bundle", `"participant":[{"actor":{"reference":"Patient/p1"}},
			{"actor":{"reference":"Practitioner/777"}},{"actor":{"reference":"urn:uuid:loc-1","type":"Location"}}]}`,
			"777", "Dr. Ana Rivera", "MAIN", "Main Street Clinic"},
		{"identifier only", `"participant":[{"actor":{"reference":"Patient/p1"}},
			{"actor":{"type":"Practitioner","identifier":{"value":"777"},"display":"Dr. Ana Rivera"}}]}`,
			"777", "Dr. Ana Rivera", "", ""},
		{"ids only", `"participant":[{"actor":{"reference":"Patient/p1"}},
			{"actor":{"reference":"Practitioner/778"}},{"actor":{"reference":"Location/MAIN"}}]}`,
			"778", "", "MAIN", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ehr.MapFHIRAppointment([]byte(head+tc.body), time.UTC, resolve)
			if err != nil {
				t.Fatal(err)
			}
			if got.Appointment.Provider != tc.provider || got.Appointment.ProviderName != tc.providerName || got.Appointment.Location != tc.location || got.Appointment.LocationName != tc.locationName {
				t.Fatalf("provider %q %q, location %q %q; want %q %q, %q %q", got.Appointment.Provider, got.Appointment.ProviderName, got.Appointment.Location, got.Appointment.LocationName,
					tc.provider, tc.providerName, tc.location, tc.locationName)
			}
		})
	}
}

func TestMapFHIRStatuses(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]beckon.AppointmentStatus{
		"proposed": "cancelled", "pending": "cancelled", "waitlist": "cancelled",
		"booked": "booked", "arrived": "arrived", "checked-in": "arrived", "fulfilled": "fulfilled",
		"cancelled": "cancelled", "entered-in-error": "cancelled", "noshow": "noshow",
	} {
		raw := `{"resourceType":"Appointment","id":"a1","status":"` + status + `","start":"2030-01-01T10:00:00-05:00",
			"participant":[{"actor":{"reference":"Patient/p1"},"status":"needs-action"}]}`
		got, err := ehr.MapFHIRAppointment([]byte(raw), time.UTC, nil)
		if err != nil || got.Appointment.Status != want {
			t.Errorf("%s: status %q, err %v; want %q", status, got.Appointment.Status, err, want)
		}
	}
}

func TestMapFHIRInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, expr string
	}{
		{"not json", `{`, ""},
		{"not an appointment", `{"resourceType":"Patient"}`, "resourceType"},
		{"no status", `{"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/p"},"status":"accepted"}]}`, "Appointment.status"},
		{"bad status", `{"resourceType":"Appointment","status":"maybe","participant":[{"actor":{"reference":"Patient/p"},"status":"accepted"}]}`, "Appointment.status"},
		{"no participant", `{"resourceType":"Appointment","status":"booked","start":"2030-01-01T10:00:00Z"}`, "Appointment.participant"},
		{"no start", `{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/p"},"status":"accepted"}]}`, "Appointment.start"},
		{"bad start", `{"resourceType":"Appointment","status":"booked","start":"tomorrow","participant":[{"actor":{"reference":"Patient/p"},"status":"accepted"}]}`, "Appointment.start"},
		{"no patient", `{"resourceType":"Appointment","status":"booked","start":"2030-01-01T10:00:00Z","participant":[{"actor":{"reference":"Practitioner/d"},"status":"accepted"}]}`, "Appointment.participant"},
		{"missing contained", `{"resourceType":"Appointment","status":"booked","start":"2030-01-01T10:00:00Z","participant":[{"actor":{"reference":"#p1"},"status":"accepted"}]}`, "Appointment.participant[0].actor"},
	}
	for _, tt := range tests {
		_, err := ehr.MapFHIRAppointment([]byte(tt.raw), time.UTC, nil)
		var fe *ehr.FHIRError
		if !errors.As(err, &fe) || fe.Expression != tt.expr {
			t.Errorf("%s: err %v, want expression %q", tt.name, err, tt.expr)
		}
	}
}

func TestMapFHIRContainedAndBundle(t *testing.T) {
	t.Parallel()
	raw := `{"resourceType":"Appointment","id":"a9","status":"booked","start":"2030-01-01T10:00:00Z",
		"contained":[{"resourceType":"Patient","id":"p1","identifier":[{"value":"MRN-9"}],"name":[{"given":["Ana"],"family":"Lopez"}],
		"telecom":[{"system":"phone","value":"+14155550123","use":"mobile"}]}],
		"participant":[{"actor":{"reference":"#p1"},"status":"needs-action"}]}`
	got, err := ehr.MapFHIRAppointment([]byte(raw), time.UTC, nil)
	if err != nil || got.Appointment.PatientID != "MRN-9" || got.Patient == nil || got.Patient.FirstName != "Ana" || got.Patient.Phone != "+14155550123" {
		t.Fatalf("contained: %+v %v", got, err)
	}
	b, err := ehr.MapFHIRBundle(readFHIR(t, "bundle-transaction-patient.json"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) != 2 || b.Entries[0].Patient == nil || b.Entries[1].Appointment == nil {
		t.Fatalf("bundle: %+v", b)
	}
	p, a := b.Entries[0].Patient, b.Entries[1].Appointment
	if p.ID != "pat-5001" || p.Phone != "+16175550142" || p.Language != "es" || p.Email != "peter@example.org" {
		t.Fatalf("patient %+v", p)
	}
	if a.Appointment.PatientID != "pat-5001" || a.Version != 1 || a.Appointment.Duration != 20*time.Minute || a.Appointment.Provider != "dr-1" {
		t.Fatalf("appointment %+v", a)
	}
	_, err = ehr.MapFHIRBundle([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation"},"request":{"method":"POST","url":"Observation"}}]}`), time.UTC)
	var fe *ehr.FHIRError
	if !errors.As(err, &fe) || fe.Expression != "Bundle.entry[0].resource" {
		t.Fatalf("bad entry: %v", err)
	}
}

func FuzzMapFHIR(f *testing.F) {
	for _, name := range []string{"appointment-example.json", "appointment-example-request.json", "appointment-example2doctors.json", "bundle-transaction-patient.json"} {
		f.Add(readFHIR(f, name))
	}
	f.Add([]byte(`{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Patient","id":"p"}],"participant":[{"actor":{"reference":"#p"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := ehr.MapFHIRAppointment(raw, time.UTC, nil)
		if err == nil && (a.Appointment.PatientID == "" || (a.Scheduled && a.Appointment.Status != "cancelled" && a.Appointment.Start.IsZero())) {
			t.Fatalf("accepted without patient or start: %+v", a)
		}
		var fe *ehr.FHIRError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("error of type %T", err)
		}
		_, _ = ehr.MapFHIRBundle(raw, time.UTC)
	})
}
