package feeds_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/feeds"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// fhirSetup is a clinic with a campaign, its FHIR base (an EHR that has
// Patient/pat-ehr and Appointment/n-2, and answers 404 for anything else),
// and a processor over them.
type fhirSetup struct {
	st      beckon.Store
	clinic  beckon.Clinic
	proc    *feeds.FHIRProcessor
	fetched sync.Map // path → the Authorization header it was fetched with
}

func newFHIRSetup(t *testing.T) *fhirSetup {
	t.Helper()
	s := &fhirSetup{st: storetest.Open(t)}
	s.clinic = storetest.Clinic(t, s.st, storetest.ClinicOpts{})
	storetest.Campaign(t, s.st, s.clinic.ID, storetest.CampaignOpts{})
	ehrSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetched.Store(r.URL.Path, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/fhir/Patient/pat-ehr":
			_ = json.NewEncoder(w).Encode(fhirPatientDoc("pat-ehr"))
		case "/fhir/Appointment/n-2":
			_ = json.NewEncoder(w).Encode(fhirApptDoc("n-2", "pat-ehr"))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(ehrSrv.Close)
	err := s.st.FeedSettingsPut(t.Context(), beckon.FeedSettings{ClinicID: s.clinic.ID, FHIRBaseURL: ehrSrv.URL + "/fhir/", FHIRAuthHeader: "Bearer ehr-secret"})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	clock := beckon.SystemClock{}
	s.proc = &feeds.FHIRProcessor{
		Store:   s.st,
		Service: &scheduler.Service{Store: s.st, Clock: clock, Logger: logger},
		Clock:   clock,
		Logger:  logger,
		Client:  ehrSrv.Client(),
	}
	return s
}

func (s *fhirSetup) input(t *testing.T, doc any) feeds.FHIRInput {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return feeds.FHIRInput{ClinicID: s.clinic.ID, Location: time.UTC, Raw: raw, Actor: "test"}
}

// archived is the archive's rows for the clinic: "outcome result" each, in
// the order received.
func (s *fhirSetup) archived(t *testing.T) []string {
	t.Helper()
	rows, err := s.st.InboundList(t.Context(), beckon.InboundFilter{ClinicID: s.clinic.ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range rows {
		if m.Format != beckon.FormatFHIR || m.Transport != beckon.TransportHTTP {
			t.Fatalf("archived as %s over %s", m.Format, m.Transport)
		}
		out = append(out, m.Outcome+" "+m.Result)
	}
	return out
}

func fhirApptDoc(id, patientID string) map[string]any {
	return map[string]any{"resourceType": "Appointment", "id": id, "status": "booked",
		"start": "2030-03-10T14:00:00Z", "end": "2030-03-10T14:30:00Z",
		"participant": []any{map[string]any{"actor": map[string]any{"reference": "Patient/" + patientID}, "status": "needs-action"}}}
}

func fhirPatientDoc(id string) map[string]any {
	return map[string]any{"resourceType": "Patient", "id": id,
		"name":    []any{map[string]any{"given": []string{"Lena"}, "family": "Okafor"}},
		"telecom": []any{map[string]any{"system": "phone", "value": "+14155550188", "use": "mobile"}}}
}

// fhirRefusal asserts err is an *ehr.FHIRError with code and expression,
// answered with status.
func fhirRefusal(t *testing.T, err error, code, expr string, status int) {
	t.Helper()
	var fe *ehr.FHIRError
	if !errors.As(err, &fe) || fe.Code != code || fe.Expression != expr {
		t.Fatalf("error %v; want a FHIR error %s at %q", err, code, expr)
	}
	if got := feeds.FHIRStatus(err); got != status {
		t.Fatalf("status of %v: %d, want %d", err, got, status)
	}
}

// TestFHIRAppointment: an Appointment whose patient Beckon does not know is
// applied with the patient fetched from the clinic's FHIR base (with the
// clinic's Authorization), 201 then 200 when sent again; an id differing
// from the URL's and a patient the EHR does not have are refused with the
// element at fault, and every request is archived with its outcome.
func TestFHIRAppointment(t *testing.T) {
	t.Parallel()
	s := newFHIRSetup(t)
	ctx := t.Context()

	res, err := s.proc.Appointment(ctx, s.input(t, fhirApptDoc("a-1", "pat-ehr")), "a-1")
	if err != nil || res.Status != http.StatusCreated || res.Feed.Appointment.ID != "a-1" || res.Feed.Appointment.PatientID != "pat-ehr" {
		t.Fatalf("create: %+v %v", res, err)
	}
	if auth, _ := s.fetched.Load("/fhir/Patient/pat-ehr"); auth != "Bearer ehr-secret" {
		t.Fatalf("patient fetched with Authorization %q", auth)
	}
	if p, err := s.st.PatientGet(ctx, s.clinic.ID, "pat-ehr"); err != nil || p.LastName != "Okafor" {
		t.Fatalf("fetched patient not stored: %v", err)
	}
	changed := fhirApptDoc("a-1", "pat-ehr")
	changed["start"], changed["end"] = "2030-03-11T14:00:00Z", "2030-03-11T14:30:00Z"
	res, err = s.proc.Appointment(ctx, s.input(t, changed), "")
	if err != nil || res.Status != http.StatusOK || !res.Feed.Appointment.Start.Equal(time.Date(2030, 3, 11, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("update: %+v %v", res, err)
	}

	_, err = s.proc.Appointment(ctx, s.input(t, fhirApptDoc("a-2", "pat-ehr")), "a-3")
	fhirRefusal(t, err, "invalid", "Appointment.id", http.StatusUnprocessableEntity)
	_, err = s.proc.Appointment(ctx, s.input(t, fhirApptDoc("a-4", "no.such")), "")
	fhirRefusal(t, err, "not-found", "Appointment.participant[0].actor", http.StatusUnprocessableEntity)
	_, err = s.proc.Appointment(ctx, feeds.FHIRInput{ClinicID: s.clinic.ID, Location: time.UTC, Raw: []byte(`[1]`)}, "")
	fhirRefusal(t, err, "structure", "", http.StatusBadRequest)
	for _, id := range []string{"a-2", "a-3", "a-4"} {
		if _, err := s.st.AppointmentGet(ctx, s.clinic.ID, id); !errors.Is(err, beckon.ErrNotFound) {
			t.Fatalf("refused appointment %s stored: %v", id, err)
		}
	}
	want := []string{"201 applied", "200 applied", "422 rejected", "422 rejected", "400 rejected"}
	if got := s.archived(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("archive %v, want %v", got, want)
	}
}

// failingPatients is a store whose patient lookups fail.
type failingPatients struct{ beckon.Store }

func (failingPatients) PatientGet(context.Context, string, string) (beckon.Patient, error) {
	return beckon.Patient{}, errors.New("connection reset")
}

// TestFHIRUnavailable: when Beckon cannot look the patient up, the
// appointment is neither applied nor refused: the error is
// ErrFHIRUnavailable (503) and the request is archived as an error to
// replay.
func TestFHIRUnavailable(t *testing.T) {
	t.Parallel()
	s := newFHIRSetup(t)
	s.proc.Store = failingPatients{s.st}
	_, err := s.proc.Appointment(t.Context(), s.input(t, fhirApptDoc("a-1", "pat-1")), "")
	if !errors.Is(err, feeds.ErrFHIRUnavailable) || feeds.FHIRStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("error %v", err)
	}
	if got := s.archived(t); len(got) != 1 || got[0] != "503 "+beckon.FeedError {
		t.Fatalf("archive %v", got)
	}
}

// TestFHIRBundle: a transaction whose last entry's patient the EHR does not
// have applies nothing and names that entry; the same bundle as a batch
// applies the others, answering each entry in request order; the
// transaction without the bad entry applies every entry.
func TestFHIRBundle(t *testing.T) {
	t.Parallel()
	s := newFHIRSetup(t)
	ctx := t.Context()
	entry := func(doc map[string]any, url string) map[string]any {
		return map[string]any{"resource": doc, "request": map[string]any{"method": "PUT", "url": url}}
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		entry(fhirPatientDoc("pat-tx"), "Patient/pat-tx"),
		entry(fhirApptDoc("tx-1", "pat-tx"), "Appointment/tx-1"),
		entry(fhirApptDoc("tx-2", "no.such"), "Appointment/tx-2"),
	}}

	_, err := s.proc.Bundle(ctx, s.input(t, bundle))
	fhirRefusal(t, err, "not-found", "Bundle.entry[2].resource.participant[0].actor", http.StatusUnprocessableEntity)
	if _, err := s.st.AppointmentGet(ctx, s.clinic.ID, "tx-1"); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("tx-1 applied by a failed transaction: %v", err)
	}
	if _, err := s.st.PatientGet(ctx, s.clinic.ID, "pat-tx"); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("pat-tx applied by a failed transaction: %v", err)
	}

	bundle["type"] = "batch"
	res, err := s.proc.Bundle(ctx, s.input(t, bundle))
	if err != nil || res.ResponseType != "batch-response" || len(res.Entries) != 3 {
		t.Fatalf("batch: %+v %v", res, err)
	}
	if e := res.Entries[0]; e.Status != http.StatusCreated || e.Location != "Patient/pat-tx" || e.Err != nil {
		t.Fatalf("batch patient: %+v", e)
	}
	if e := res.Entries[1]; e.Status != http.StatusCreated || e.Location != "Appointment/tx-1/_history/1" || e.ETag != `W/"1"` {
		t.Fatalf("batch appointment: %+v", e)
	}
	e := res.Entries[2]
	if e.Status != http.StatusUnprocessableEntity || e.Location != "" {
		t.Fatalf("batch refused entry: %+v", e)
	}
	fhirRefusal(t, e.Err, "not-found", "Bundle.entry[2].resource.participant[0].actor", http.StatusUnprocessableEntity)

	bundle["type"] = "transaction"
	bundle["entry"] = []any{entry(fhirPatientDoc("pat-tx"), "Patient/pat-tx"), entry(fhirApptDoc("tx-3", "pat-tx"), "Appointment/tx-3")}
	res, err = s.proc.Bundle(ctx, s.input(t, bundle))
	if err != nil || res.ResponseType != "transaction-response" || len(res.Entries) != 2 ||
		res.Entries[0].Status != http.StatusOK || res.Entries[1].Location != "Appointment/tx-3/_history/1" {
		t.Fatalf("transaction: %+v %v", res, err)
	}
	want := []string{"422 rejected", "422 rejected", "200 applied"}
	if got := s.archived(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("archive %v, want %v", got, want)
	}
}

// TestFHIRNotify: a notification's full-resource Appointment is applied as
// sent, an id-only one is fetched from the EHR, the SubscriptionStatus is
// skipped; an id the EHR does not have fails the notification (the others
// stay applied), and a body that is not a Bundle is unreadable (400).
func TestFHIRNotify(t *testing.T) {
	t.Parallel()
	s := newFHIRSetup(t)
	ctx := t.Context()
	status := map[string]any{"fullUrl": "urn:uuid:status", "resource": map[string]any{"resourceType": "Parameters"}}
	note := map[string]any{"resourceType": "Bundle", "type": "history", "entry": []any{
		status,
		map[string]any{"resource": fhirApptDoc("n-1", "pat-ehr")},
		map[string]any{"fullUrl": "https://ehr.example/fhir/Appointment/n-2"},
	}}
	res, err := s.proc.Notify(ctx, s.input(t, note))
	if err != nil || res.Applied != 2 {
		t.Fatalf("notify: %+v %v", res, err)
	}
	if _, ok := s.fetched.Load("/fhir/Appointment/n-2"); !ok {
		t.Fatal("the id-only entry was not fetched")
	}
	for _, id := range []string{"n-1", "n-2"} {
		if _, err := s.st.AppointmentGet(ctx, s.clinic.ID, id); err != nil {
			t.Fatalf("%s not applied: %v", id, err)
		}
	}

	note["entry"] = []any{status, map[string]any{"resource": fhirApptDoc("n-3", "pat-ehr")},
		map[string]any{"request": map[string]any{"url": "Appointment/n-9"}}}
	res, err = s.proc.Notify(ctx, s.input(t, note))
	fhirRefusal(t, err, "not-found", "Bundle.entry[2].fullUrl", http.StatusUnprocessableEntity)
	if res.Applied != 1 {
		t.Fatalf("applied %d of the failed notification's entries, want 1", res.Applied)
	}
	if _, err := s.st.AppointmentGet(ctx, s.clinic.ID, "n-3"); err != nil {
		t.Fatalf("n-3 not applied: %v", err)
	}

	_, err = s.proc.Notify(ctx, s.input(t, map[string]any{"resourceType": "Appointment"}))
	fhirRefusal(t, err, "structure", "", http.StatusBadRequest)
	want := []string{"200 applied", "422 rejected", "400 rejected"}
	if got := s.archived(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("archive %v, want %v", got, want)
	}
}
