package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
)

// fhirMediaType is what the FHIR endpoints answer.
const fhirMediaType = "application/fhir+json; charset=utf-8"

// fhirHandler serves the FHIR R4 endpoints under /fhir/r4.
type fhirHandler struct {
	s      *Server
	client *http.Client // fetches from the EHR's FHIR base
}

// outcome is an OperationOutcome with one issue.
func outcome(severity, code, expr, diagnostics string) []byte {
	issue := map[string]any{"severity": severity, "code": code, "diagnostics": diagnostics}
	if expr != "" {
		issue["expression"] = []string{expr}
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []any{issue}})
	return b
}

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", fhirMediaType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fhirFail writes an API error as an OperationOutcome.
func fhirFail(w http.ResponseWriter, e *Error) {
	code := "processing"
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		code = "security"
	case http.StatusNotFound:
		code = "not-found"
	case http.StatusRequestEntityTooLarge:
		code = "too-costly"
	case http.StatusServiceUnavailable, http.StatusInternalServerError:
		code = "exception"
	case http.StatusUnsupportedMediaType:
		code = "not-supported"
	}
	setErrorHeaders(w, e)
	writeFHIR(w, e.Status, outcome("error", code, e.Field, e.Message))
}

// fhirError writes a mapping error (422, or 400 for unreadable JSON).
func fhirError(w http.ResponseWriter, err error) int {
	var fe *ehr.FHIRError
	status := http.StatusUnprocessableEntity
	if errors.As(err, &fe) {
		if fe.Code == "structure" {
			status = http.StatusBadRequest
		}
		writeFHIR(w, status, outcome("error", fe.Code, fe.Expression, fe.Reason))
		return status
	}
	writeFHIR(w, status, outcome("error", "invalid", "", "the resource is invalid"))
	return status
}

func (s *Server) registerFHIR() {
	h := &fhirHandler{s: s, client: s.cfg.Egress.Client(15*time.Second, s.logger)}
	s.mux.HandleFunc("GET /fhir/r4/metadata", h.metadata)
	s.mux.HandleFunc("POST /fhir/r4/Appointment", h.auth(h.postAppointment))
	s.mux.HandleFunc("PUT /fhir/r4/Appointment/{id}", h.auth(h.putAppointment))
	s.mux.HandleFunc("GET /fhir/r4/Appointment/{id}", h.auth(h.getAppointment))
	s.mux.HandleFunc("POST /fhir/r4", h.auth(h.postBundle))
	// [base]/ too: client libraries (fhir-kit-client) post bundles there.
	s.mux.HandleFunc("POST /fhir/r4/{$}", h.auth(h.postBundle))
	s.mux.HandleFunc("POST /fhir/r4/notify", h.auth(h.notify))
}

type fhirRequest struct {
	key    store.APIKey
	clinic store.Clinic
	loc    *time.Location
	raw    []byte
}

// auth authenticates (ehr or admin key), loads the clinic and reads the body.
func (h *fhirHandler) auth(next func(w http.ResponseWriter, r *http.Request, req *fhirRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := h.s.requireKey(w, r, fhirFail, store.RoleAdmin, store.RoleEHR)
		if !ok {
			return
		}
		c, err := h.s.store.ClinicGet(r.Context(), key.ClinicID)
		if err != nil {
			h.s.logger.Error("fhir: clinic lookup failed", slog.String("clinic_id", key.ClinicID), slog.String("error", err.Error()))
			fhirFail(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "cannot load the clinic now"))
			return
		}
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		req := &fhirRequest{key: key, clinic: c, loc: loc}
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			ct := r.Header.Get("Content-Type")
			if ct != "" && !strings.Contains(ct, "json") {
				fhirFail(w, newError(http.StatusUnsupportedMediaType, CodeMediaType, "send application/fhir+json"))
				return
			}
			raw, err := io.ReadAll(io.LimitReader(r.Body, ehr.MaxFHIRSize+1))
			if err != nil || len(raw) > ehr.MaxFHIRSize {
				fhirFail(w, newError(http.StatusRequestEntityTooLarge, CodeTooLarge, "a FHIR request may be at most 4 MiB"))
				return
			}
			req.raw = raw
			if err := ehr.CheckFHIRText(raw); err != nil {
				// Refused for good, and archived as sent.
				status := fhirError(w, err)
				h.archive(r.Context(), req, store.TransportHTTP, status, store.FeedRejected, err.Error(), "")
				return
			}
			// FHIR's JSON is case-sensitive but encoding/json is not: a key
			// repeated in another case would be read as the element.
			if p := scanJSON(raw, false); p != nil {
				fhirFail(w, newError(http.StatusUnprocessableEntity, CodeInvalid, p.message, FieldError{Field: p.field, Message: p.message}))
				h.archive(r.Context(), req, store.TransportHTTP, http.StatusUnprocessableEntity, store.FeedRejected, p.field+": "+p.message, "")
				return
			}
		}
		next(w, r, req)
	}
}

// archive keeps the inbound resource with its outcome.
func (h *fhirHandler) archive(ctx context.Context, req *fhirRequest, transport string, status int, result, detail, apptID string) {
	sum := sha256.Sum256(req.raw)
	err := h.s.store.InboundInsert(context.WithoutCancel(ctx), store.InboundMessage{
		ClinicID:      req.clinic.ID,
		Transport:     transport,
		Format:        store.FormatFHIR,
		ControlID:     truncate(apptID, 200),
		Digest:        hex.EncodeToString(sum[:]),
		Raw:           req.raw,
		Outcome:       strconv.Itoa(status),
		Result:        result,
		Detail:        truncate(detail, 500),
		AppointmentID: truncate(apptID, 200),
		ReceivedAt:    h.s.svc.Clock.Now(),
	})
	if err != nil {
		h.s.logger.Error("fhir: archive failed", slog.String("clinic_id", req.clinic.ID), slog.String("error", err.Error()))
	}
	h.s.logger.Info("fhir message", slog.String("clinic_id", req.clinic.ID), slog.Int("status", status),
		slog.String("result", result), slog.String("appointment_id", apptID), slog.Int("size", len(req.raw)))
}

func (h *fhirHandler) postAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	h.oneAppointment(w, r, req, "")
}

func (h *fhirHandler) putAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	h.oneAppointment(w, r, req, r.PathValue("id"))
}

func (h *fhirHandler) oneAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest, pathID string) {
	ctx := r.Context()
	fa, err := ehr.MapFHIRAppointment(req.raw, req.loc, nil)
	if err == nil {
		switch {
		case pathID != "" && fa.ID != "" && fa.ID != pathID:
			err = &ehr.FHIRError{Code: "invalid", Expression: "Appointment.id", Reason: "the id differs from the URL's"}
		case pathID != "":
			fa.ID = pathID
		}
	}
	if err == nil && !ehr.ValidID(fa.ID) {
		err = &ehr.FHIRError{Code: "required", Expression: "Appointment.id", Reason: "the Appointment needs the EHR's id (letters, digits, . _ : -)"}
	}
	if err != nil {
		status := fhirError(w, err)
		h.archive(ctx, req, store.TransportHTTP, status, store.FeedRejected, err.Error(), "")
		return
	}
	res, status, ferr := h.apply(ctx, req, fa, "Appointment")
	if ferr != nil {
		fhirError(w, ferr)
		h.archive(ctx, req, store.TransportHTTP, status, store.FeedRejected, ferr.Error(), fa.ID)
		return
	}
	if status >= 500 {
		fhirFail(w, newError(status, CodeUnavailable, "the appointment could not be applied now; retry"))
		h.archive(ctx, req, store.TransportHTTP, status, store.FeedError, "", fa.ID)
		return
	}
	h.archive(ctx, req, store.TransportHTTP, status, res.Result, "", fa.ID)
	if res.Result == store.FeedTombstone || res.Appointment.ID == "" {
		writeFHIR(w, http.StatusOK, outcome("information", "informational", "", "recorded: "+res.Result))
		return
	}
	body, err := fhirAppointmentOut(res.Appointment)
	if err != nil {
		h.s.failInternal(w, r, err)
		return
	}
	w.Header().Set("Location", "/fhir/r4/Appointment/"+res.Appointment.ID+"/_history/"+strconv.FormatInt(res.Appointment.Version, 10))
	w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, res.Appointment.Version))
	writeFHIR(w, status, body)
}

// apply applies one mapped appointment: the patient is taken from the
// resource (contained, bundle), else must be known to Beckon, else is fetched
// from the clinic's FHIR base. It returns the HTTP status to answer, and a
// FHIR error for a 4xx.
func (h *fhirHandler) apply(ctx context.Context, req *fhirRequest, fa ehr.FHIRAppointment, exprPrefix string) (scheduler.FeedResult, int, error) {
	ev, patientExpr, status, err := h.event(ctx, req, fa, exprPrefix)
	if err != nil || status >= 400 {
		return scheduler.FeedResult{}, status, err
	}
	res, err := h.s.svc.ApplyEvent(ctx, req.clinic.ID, ev, actor(req.key))
	status, err = h.applyStatus(req, res, err, patientExpr)
	return res, status, err
}

// event builds the feed event of a mapped appointment, fetching its patient
// from the clinic's FHIR base when Beckon does not know it. It returns the
// expression of the patient participant (for errors), and a status >= 400
// (with a FHIR error for a 4xx) when the event cannot be applied.
func (h *fhirHandler) event(ctx context.Context, req *fhirRequest, fa ehr.FHIRAppointment, exprPrefix string) (scheduler.FeedEvent, string, int, error) {
	ev := h.feedEvent(req, fa)
	patientExpr := fmt.Sprintf("%s.participant[%d].actor", exprPrefix, fa.PatientIndex)
	if fa.Patient != nil {
		ev.Patient = feedPatient(*fa.Patient, fa.PatientID)
	} else if !ev.Partial {
		_, err := h.s.store.PatientGet(ctx, req.clinic.ID, fa.PatientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			p, ferr := h.fetchPatient(ctx, req.clinic.ID, fa.PatientID)
			if ferr != nil {
				return ev, patientExpr, http.StatusUnprocessableEntity, &ehr.FHIRError{Code: "not-found", Expression: patientExpr, Reason: ferr.Error()}
			}
			ev.Patient = p
		case err != nil:
			h.s.logger.Error("fhir: patient lookup failed", slog.String("error", err.Error()))
			return ev, patientExpr, http.StatusServiceUnavailable, nil
		}
	}
	return ev, patientExpr, http.StatusOK, nil
}

// feedEvent is the feed event of a mapped appointment, without its
// patient's data (event adds it).
func (h *fhirHandler) feedEvent(req *fhirRequest, fa ehr.FHIRAppointment) scheduler.FeedEvent {
	sum := sha256.Sum256(req.raw)
	return scheduler.FeedEvent{
		AppointmentID: fa.ID,
		PatientID:     fa.PatientID,
		Start:         fa.Start,
		Duration:      fa.Duration,
		Type:          fa.Type,
		Provider:      fa.Provider,
		ProviderName:  fa.ProviderName,
		Location:      fa.Location,
		LocationName:  fa.LocationName,
		Status:        fa.Status,
		Partial:       !fa.Scheduled || fa.Status == store.StatusCancelled,
		NotScheduled:  !fa.Scheduled,
		SourceAt:      fa.LastUpdated,
		SourceVersion: fa.Version,
		EHRVersion:    fa.VersionID,
		Digest:        hex.EncodeToString(sum[:]) + ":" + fa.ID,
	}
}

// applyStatus is the HTTP status (and FHIR error for a 4xx) of an applied
// event.
func (h *fhirHandler) applyStatus(req *fhirRequest, res scheduler.FeedResult, err error, patientExpr string) (int, error) {
	switch {
	case errors.Is(err, scheduler.ErrUnknownPatient), errors.Is(err, scheduler.ErrIncompleteEvent):
		return http.StatusUnprocessableEntity, &ehr.FHIRError{Code: "required", Expression: patientExpr, Reason: "the appointment is not known and lacks a known patient or a start"}
	case errors.Is(err, store.ErrInvalidData):
		// The database refused a value for what it is: retrying cannot help.
		h.s.logger.Warn("fhir: refused by the database", slog.String("clinic_id", req.clinic.ID), slog.String("error", err.Error()))
		return http.StatusUnprocessableEntity, &ehr.FHIRError{Code: "invalid", Reason: "a value cannot be stored as text; correct the resource"}
	case err != nil:
		h.s.logger.Error("fhir: apply failed", slog.String("clinic_id", req.clinic.ID), slog.String("error", err.Error()))
		return http.StatusServiceUnavailable, nil
	}
	if res.Outcome == scheduler.Created {
		return http.StatusCreated, nil
	}
	return http.StatusOK, nil
}

func feedPatient(p ehr.Patient, id string) store.Patient {
	return store.Patient{ID: id, FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone, Email: p.Email, Language: p.Language}
}

// fetchPatient reads Patient/{id} from the clinic's FHIR base.
func (h *fhirHandler) fetchPatient(ctx context.Context, clinicID, id string) (store.Patient, error) {
	raw, err := h.fetch(ctx, clinicID, "Patient/"+id)
	if err != nil {
		return store.Patient{}, err
	}
	p, pid, err := ehr.MapFHIRPatient(raw, false)
	if err != nil || pid != id {
		return store.Patient{}, errors.New("the EHR's Patient resource is not usable")
	}
	return feedPatient(p, pid), nil
}

// fetch GETs a resource from the clinic's FHIR base. Its errors say what
// failed without quoting the resource.
func (h *fhirHandler) fetch(ctx context.Context, clinicID, path string) ([]byte, error) {
	fs, err := h.s.store.FeedSettingsGet(ctx, clinicID)
	if err != nil || fs.FHIRBaseURL == "" {
		return nil, errors.New("the patient is not known to Beckon and no FHIR base is configured to fetch it (PUT /v1/clinic/feeds)")
	}
	return FetchFHIR(ctx, h.client, fs, path)
}

// FetchFHIR GETs base/path with the clinic's Authorization header.
func FetchFHIR(ctx context.Context, c *http.Client, fs store.FeedSettings, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(fs.FHIRBaseURL, "/")+"/"+path, nil)
	if err != nil {
		return nil, errors.New("the FHIR base URL is not usable")
	}
	req.Header.Set("Accept", "application/fhir+json")
	if fs.FHIRAuthHeader != "" {
		req.Header.Set("Authorization", fs.FHIRAuthHeader)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, errors.New("the EHR's FHIR server did not answer")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the EHR's FHIR server answered %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, ehr.MaxFHIRSize))
}

func (h *fhirHandler) getAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	a, err := h.s.store.AppointmentGet(r.Context(), req.clinic.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeFHIR(w, http.StatusNotFound, outcome("error", "not-found", "", "no such Appointment"))
		return
	}
	if err != nil {
		fhirFail(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "cannot read the appointment now"))
		return
	}
	body, err := fhirAppointmentOut(a)
	if err != nil {
		h.s.failInternal(w, r, err)
		return
	}
	w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, a.Version))
	writeFHIR(w, http.StatusOK, body)
}

// fhirAppointmentOut is Beckon's appointment as an R4 Appointment; an
// appointment whose times an instant cannot hold (stored before the window
// of ehr.CheckInstant was enforced) is an error, not a malformed resource.
func fhirAppointmentOut(a store.Appointment) ([]byte, error) {
	for _, t := range []time.Time{a.Start, a.Start.Add(a.Duration), a.UpdatedAt} {
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("fhir: appointment %s has a time outside the years 0 to 9999", a.ID)
		}
	}
	status := map[string]fhir.AppointmentStatus{
		store.StatusBooked: fhir.AppointmentStatusBooked, store.StatusArrived: fhir.AppointmentStatusArrived,
		store.StatusFulfilled: fhir.AppointmentStatusFulfilled, store.StatusCancelled: fhir.AppointmentStatusCancelled,
		store.StatusNoShow: fhir.AppointmentStatusNoshow,
	}[a.Status]
	var ps fhir.ParticipationStatus
	_ = ps.UnmarshalJSON([]byte(`"` + ehr.ParticipantStatus(a.Confirmation) + `"`))
	id, version := a.ID, strconv.FormatInt(a.Version, 10)
	updated := a.UpdatedAt.UTC().Format(time.RFC3339Nano)
	start, end := a.Start.UTC().Format(time.RFC3339), a.Start.Add(a.Duration).UTC().Format(time.RFC3339)
	minutes := int(a.Duration / time.Minute)
	patient := "Patient/" + a.PatientID
	out := fhir.Appointment{
		Id:              &id,
		Meta:            &fhir.Meta{VersionId: &version, LastUpdated: &updated},
		Status:          status,
		Start:           &start,
		End:             &end,
		MinutesDuration: &minutes,
		Participant:     []fhir.AppointmentParticipant{{Actor: &fhir.Reference{Reference: &patient}, Status: ps}},
	}
	if a.Type != "" {
		t := a.Type
		out.AppointmentType = &fhir.CodeableConcept{Text: &t}
	}
	// The provider and location by identifier (Beckon's ids need not be the
	// EHR's FHIR ids) with their names, as MapFHIRAppointment reads them.
	for _, p := range []struct{ kind, id, name string }{
		{"Practitioner", a.Provider, a.ProviderName},
		{"Location", a.Location, a.LocationName},
	} {
		if p.id == "" && p.name == "" {
			continue
		}
		ref := &fhir.Reference{Type: &p.kind}
		if p.id != "" {
			ref.Identifier = &fhir.Identifier{Value: &p.id}
		}
		if p.name != "" {
			ref.Display = &p.name
		}
		out.Participant = append(out.Participant, fhir.AppointmentParticipant{Actor: ref, Status: fhir.ParticipationStatusAccepted})
	}
	return out.MarshalJSON()
}

// bundleDoc is what the CapabilityStatement says of transactions and
// batches.
const bundleDoc = "POST a Bundle to [base] or [base]/. Patient and Appointment entries: POST (create; " +
	"ifNoneExist=identifier=system|value for a conditional create), PUT Type/id (update) or " +
	"PUT Type?identifier=system|value (conditional update); a POSTed resource is keyed by its id, " +
	"else its first identifier. References to an entry's fullUrl (urn:uuid, urn:oid) are resolved."

func (h *fhirHandler) metadata(w http.ResponseWriter, _ *http.Request) {
	interaction := func(codes ...string) []map[string]string {
		var out []map[string]string
		for _, c := range codes {
			out = append(out, map[string]string{"code": c})
		}
		return out
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-01-01",
		"kind":         "instance",
		"software":     map[string]string{"name": "Beckon", "version": h.s.cfg.Version},
		"fhirVersion":  "4.0.1",
		"format":       []string{"application/fhir+json"},
		"rest": []any{map[string]any{
			"mode": "server",
			"security": map[string]any{
				"description": "Authorization: Bearer <Beckon API key> with role ehr or admin",
			},
			"resource": []any{
				map[string]any{"type": "Appointment", "interaction": interaction("read", "create", "update"),
					"versioning": "versioned-update", "conditionalCreate": false},
				map[string]any{"type": "Patient", "interaction": interaction()},
			},
			"interaction": []map[string]string{
				{"code": "transaction", "documentation": bundleDoc + " All entries apply, or none."},
				{"code": "batch", "documentation": bundleDoc + " Each entry applies on its own."},
			},
			"operation": []any{},
		}},
	}
	b, _ := json.Marshal(cs)
	writeFHIR(w, http.StatusOK, b)
}

// postBundle applies a transaction or batch Bundle of Patients and
// Appointments as FHIR R4 processes one (ehr.MapFHIRBundle): each entry's
// identity from its request (create, conditional create, update, conditional
// update by identifier), references between entries resolved, the entries
// applied in processing order and answered in request order. A transaction
// is atomic: every entry is applied in one store transaction
// (scheduler.ApplyEvents), or, when any fails, none is and the answer is one
// OperationOutcome naming the entry. A batch applies each entry on its own
// and answers a batch-response Bundle with each entry's status (and an
// OperationOutcome for each failure).
func (h *fhirHandler) postBundle(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	ctx := r.Context()
	b, err := ehr.MapFHIRBundle(req.raw, req.loc)
	if err != nil {
		status := fhirError(w, err)
		h.archive(ctx, req, store.TransportHTTP, status, store.FeedRejected, err.Error(), "")
		return
	}
	if b.Type == "transaction" {
		h.transaction(w, r, req, b)
		return
	}
	out := make([]bundleEntryResponse, len(b.Entries))
	worst := http.StatusOK
	for _, i := range b.ProcessingOrder() {
		step, expr, status, err := h.bundleStep(ctx, req, b, i)
		if err == nil && status < 400 {
			var res []scheduler.FeedStepResult
			if res, err = h.s.svc.ApplyEvents(ctx, req.clinic.ID, []scheduler.FeedStep{step}, actor(req.key)); err == nil {
				out[i] = stepResponse(step, res[0])
				continue
			}
			status, err = h.applyStatus(req, scheduler.FeedResult{}, err, expr)
		}
		worst = max(worst, status)
		out[i] = entryResponse(status, "", err)
	}
	result := store.FeedApplied
	if worst >= 400 {
		result = store.FeedRejected
		if worst >= 500 {
			result = store.FeedError
		}
	}
	h.archive(ctx, req, store.TransportHTTP, worst, result, "", "")
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "batch-response", "entry": out})
	writeFHIR(w, http.StatusOK, body)
}

// bundleStep is entry i as a feed step, with the expression of its
// patient (for errors); a status >= 400 (with a FHIR error for a 4xx) when
// it cannot be applied. An Appointment whose patient is not in the bundle
// has it looked up, or fetched from the EHR.
func (h *fhirHandler) bundleStep(ctx context.Context, req *fhirRequest, b ehr.FHIRBundle, i int) (scheduler.FeedStep, string, int, error) {
	e := b.Entries[i]
	step := scheduler.FeedStep{IfNoneExist: e.IfNoneExist}
	switch {
	case e.Err != nil:
		return step, "", http.StatusUnprocessableEntity, e.Err
	case e.Patient != nil:
		p := feedPatient(*e.Patient, e.ID)
		step.Patient = &p
		return step, "", http.StatusOK, nil
	}
	fa := *e.Appointment
	prefix := fmt.Sprintf("Bundle.entry[%d].resource", i)
	if e.PatientEntry >= 0 && b.Entries[e.PatientEntry].IfNoneExist {
		// A conditional create of the patient, processed before this entry:
		// the appointment names the patient and leaves its data to that entry.
		fa.Patient = nil
		ev := h.feedEvent(req, fa)
		step.Event = &ev
		return step, fmt.Sprintf("%s.participant[%d].actor", prefix, fa.PatientIndex), http.StatusOK, nil
	}
	ev, expr, status, err := h.event(ctx, req, fa, prefix)
	step.Event = &ev
	return step, expr, status, err
}

// bundleEntryResponse is one entry of a transaction-response or
// batch-response Bundle.
type bundleEntryResponse struct {
	Response map[string]any `json:"response"`
}

// entryResponse is an entry's response: its status, where the resource now
// is, and for a failure an OperationOutcome.
func entryResponse(status int, loc string, err error) bundleEntryResponse {
	resp := map[string]any{"status": strconv.Itoa(status) + " " + http.StatusText(status)}
	if loc != "" {
		resp["location"] = loc
	}
	if status >= 400 {
		code, expr, diag := "exception", "", "could not be applied now; retry"
		var fe *ehr.FHIRError
		if errors.As(err, &fe) {
			code, expr, diag = fe.Code, fe.Expression, fe.Reason
		} else if status < 500 {
			code, diag = "invalid", "the entry is invalid"
		}
		var oo any
		_ = json.Unmarshal(outcome("error", code, expr, diag), &oo)
		resp["outcome"] = oo
	}
	return bundleEntryResponse{Response: resp}
}

// stepResponse is the response of an applied entry: 201 when it created
// the patient or appointment, else 200, with where it now is.
func stepResponse(step scheduler.FeedStep, res scheduler.FeedStepResult) bundleEntryResponse {
	status, loc, etag := http.StatusOK, "", ""
	switch {
	case step.Patient != nil:
		loc = "Patient/" + res.Patient.ID
		if res.PatientOutcome == scheduler.Created {
			status = http.StatusCreated
		}
	case res.Feed.Appointment.ID != "" && res.Feed.Result != store.FeedTombstone:
		loc = fmt.Sprintf("Appointment/%s/_history/%d", res.Feed.Appointment.ID, res.Feed.Appointment.Version)
		etag = fmt.Sprintf(`W/"%d"`, res.Feed.Appointment.Version)
		if res.Feed.Outcome == scheduler.Created {
			status = http.StatusCreated
		}
	}
	out := entryResponse(status, loc, nil)
	if etag != "" {
		out.Response["etag"] = etag
	}
	return out
}

// transaction applies every entry of a transaction Bundle in one store
// transaction, in processing order. Patients missing from Beckon are
// fetched from the EHR first (outside the transaction); then all entries
// are applied, or none.
func (h *fhirHandler) transaction(w http.ResponseWriter, r *http.Request, req *fhirRequest, b ehr.FHIRBundle) {
	ctx := r.Context()
	fail := func(status int, err error) {
		if status >= 500 {
			fhirFail(w, newError(status, CodeUnavailable, "the transaction could not be applied now; nothing was applied; retry"))
			h.archive(ctx, req, store.TransportHTTP, status, store.FeedError, "", "")
			return
		}
		fhirError(w, err)
		h.archive(ctx, req, store.TransportHTTP, http.StatusUnprocessableEntity, store.FeedRejected, fmt.Sprint(err), "")
	}
	order := b.ProcessingOrder()
	steps := make([]scheduler.FeedStep, len(order))
	exprs := make([]string, len(order))
	for k, i := range order {
		step, expr, status, err := h.bundleStep(ctx, req, b, i)
		if err != nil || status >= 400 {
			fail(status, err)
			return
		}
		steps[k], exprs[k] = step, expr
	}
	results, err := h.s.svc.ApplyEvents(ctx, req.clinic.ID, steps, actor(req.key))
	if err != nil {
		var se *scheduler.FeedStepError
		expr := ""
		if errors.As(err, &se) && se.Index < len(exprs) {
			expr = exprs[se.Index]
		}
		st, ferr := h.applyStatus(req, scheduler.FeedResult{}, err, expr)
		fail(st, ferr)
		return
	}
	out := make([]bundleEntryResponse, len(b.Entries))
	for k, res := range results {
		out[order[k]] = stepResponse(steps[k], res)
	}
	h.archive(ctx, req, store.TransportHTTP, http.StatusOK, store.FeedApplied, "", "")
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": out})
	writeFHIR(w, http.StatusOK, body)
}

// notify takes an R4 Subscriptions backport notification (a history Bundle
// whose first entry is the SubscriptionStatus): full-resource entries are
// applied as sent, id-only entries are fetched from the clinic's FHIR base.
func (h *fhirHandler) notify(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	ctx := r.Context()
	var nb struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  *struct {
				URL string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(req.raw, &nb); err != nil || nb.ResourceType != "Bundle" {
		writeFHIR(w, http.StatusBadRequest, outcome("error", "structure", "", "expected a notification Bundle"))
		h.archive(ctx, req, store.TransportHTTP, http.StatusBadRequest, store.FeedRejected, "not a Bundle", "")
		return
	}
	if nb.Type != "history" && nb.Type != "subscription-notification" {
		writeFHIR(w, http.StatusUnprocessableEntity, outcome("error", "value", "Bundle.type", "a notification Bundle has type history"))
		h.archive(ctx, req, store.TransportHTTP, http.StatusUnprocessableEntity, store.FeedRejected, "Bundle.type", "")
		return
	}
	applied, worst := 0, http.StatusOK
	var lastErr error
	for i, e := range nb.Entry {
		raw := e.Resource
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if len(raw) > 0 {
			_ = json.Unmarshal(raw, &head)
			if head.ResourceType != "Appointment" {
				continue // the SubscriptionStatus (Parameters), or another type
			}
		} else {
			ref := e.FullURL
			if ref == "" && e.Request != nil {
				ref = e.Request.URL
			}
			id := ""
			if k := strings.Index(ref, "Appointment/"); k >= 0 {
				id = strings.SplitN(ref[k+len("Appointment/"):], "/", 2)[0]
			}
			if id == "" || !ehr.ValidID(id) {
				continue
			}
			b, err := h.fetch(ctx, req.clinic.ID, "Appointment/"+id)
			if err != nil {
				lastErr, worst = &ehr.FHIRError{Code: "not-found", Expression: fmt.Sprintf("Bundle.entry[%d].fullUrl", i), Reason: err.Error()}, http.StatusUnprocessableEntity
				continue
			}
			raw = b
		}
		fa, err := ehr.MapFHIRAppointment(raw, req.loc, nil)
		if err == nil && !ehr.ValidID(fa.ID) {
			err = &ehr.FHIRError{Code: "required", Expression: "Appointment.id", Reason: "the Appointment needs the EHR's id"}
		}
		if err != nil {
			lastErr, worst = err, http.StatusUnprocessableEntity
			continue
		}
		sub := *req
		sub.raw = raw
		_, st, ferr := h.apply(ctx, &sub, fa, fmt.Sprintf("Bundle.entry[%d].resource", i))
		if ferr != nil || st >= 400 {
			lastErr = ferr
			if st > worst {
				worst = st
			}
			continue
		}
		applied++
	}
	if lastErr != nil || worst >= 400 {
		h.archive(ctx, req, store.TransportHTTP, worst, store.FeedRejected, fmt.Sprint(lastErr), "")
		if lastErr == nil {
			fhirFail(w, newError(worst, CodeUnavailable, "the notification could not be applied now; retry"))
			return
		}
		fhirError(w, lastErr)
		return
	}
	h.archive(ctx, req, store.TransportHTTP, http.StatusOK, store.FeedApplied, "", "")
	writeFHIR(w, http.StatusOK, outcome("information", "informational", "", fmt.Sprintf("%d appointment(s) applied", applied)))
}
