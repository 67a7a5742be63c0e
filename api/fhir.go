package api

import (
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

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/feeds"
)

// fhirMediaType is what the FHIR endpoints answer.
const fhirMediaType = "application/fhir+json; charset=utf-8"

// fhirHandler serves the FHIR R4 endpoints under /fhir/r4: it authenticates,
// reads the body and answers; feeds.FHIRProcessor applies and archives.
type fhirHandler struct {
	s    *Server
	proc *feeds.FHIRProcessor
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

// fhirError writes a refusal (422, or 400 for unreadable JSON).
func fhirError(w http.ResponseWriter, err error) int {
	var fe *ehr.FHIRError
	status := feeds.FHIRStatus(err)
	if errors.As(err, &fe) {
		writeFHIR(w, status, outcome("error", fe.Code, fe.Expression, fe.Reason))
		return status
	}
	writeFHIR(w, status, outcome("error", "invalid", "", "the resource is invalid"))
	return status
}

// fhirAnswerError writes what the processor returned: a 503 saying
// unavailable (Beckon failed; the sender should retry), else the refusal.
func fhirAnswerError(w http.ResponseWriter, err error, unavailable string) {
	if errors.Is(err, feeds.ErrFHIRUnavailable) {
		fhirFail(w, newError(http.StatusServiceUnavailable, CodeUnavailable, unavailable))
		return
	}
	fhirError(w, err)
}

func (s *Server) registerFHIR(proc *feeds.FHIRProcessor) {
	h := &fhirHandler{s: s, proc: proc}
	s.handle("GET /fhir/r4/metadata", http.HandlerFunc(h.metadata))
	s.handle("POST /fhir/r4/Appointment", h.auth(h.postAppointment))
	s.handle("PUT /fhir/r4/Appointment/{id}", h.auth(h.putAppointment))
	s.handle("GET /fhir/r4/Appointment/{id}", h.auth(h.getAppointment))
	s.handle("POST /fhir/r4", h.auth(h.postBundle))
	// [base]/ too: client libraries (fhir-kit-client) post bundles there.
	s.handleUndocumented("POST /fhir/r4/{$}", h.auth(h.postBundle))
	s.handle("POST /fhir/r4/notify", h.auth(h.notify))
}

type fhirRequest struct {
	clinic beckon.Clinic
	in     feeds.FHIRInput
}

// auth authenticates (ehr or admin key), loads the clinic and reads the body.
func (h *fhirHandler) auth(next func(w http.ResponseWriter, r *http.Request, req *fhirRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := h.s.requireKey(w, r, fhirFail, beckon.RoleAdmin, beckon.RoleEHR)
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
		req := &fhirRequest{clinic: c, in: feeds.FHIRInput{ClinicID: c.ID, Location: loc, Actor: actor(key)}}
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
			req.in.Raw = raw
			if err := ehr.CheckFHIRText(raw); err != nil {
				// Refused for good, and archived as sent.
				status := fhirError(w, err)
				h.proc.Reject(r.Context(), req.in, status, err.Error())
				return
			}
			// FHIR's JSON is case-sensitive but encoding/json is not: a key
			// repeated in another case would be read as the element.
			if p := scanJSON(raw, false); p != nil {
				fhirFail(w, newError(http.StatusUnprocessableEntity, CodeInvalid, p.message, FieldError{Field: p.field, Message: p.message}))
				h.proc.Reject(r.Context(), req.in, http.StatusUnprocessableEntity, p.field+": "+p.message)
				return
			}
		}
		next(w, r, req)
	}
}

func (h *fhirHandler) postAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	h.oneAppointment(w, r, req, "")
}

func (h *fhirHandler) putAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	h.oneAppointment(w, r, req, r.PathValue("id"))
}

// oneAppointment answers a created or updated Appointment as it now is
// (Location, ETag), or an OperationOutcome for a cancelled appointment
// recorded as a tombstone.
func (h *fhirHandler) oneAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest, pathID string) {
	res, err := h.proc.Appointment(r.Context(), req.in, pathID)
	if err != nil {
		fhirAnswerError(w, err, "the appointment could not be applied now; retry")
		return
	}
	if res.Feed.Result == beckon.FeedTombstone || res.Feed.Appointment.ID == "" {
		writeFHIR(w, http.StatusOK, outcome("information", "informational", "", "recorded: "+res.Feed.Result))
		return
	}
	a := res.Feed.Appointment
	body, err := fhirAppointmentOut(a)
	if err != nil {
		h.s.failInternal(w, r, err)
		return
	}
	w.Header().Set("Location", "/fhir/r4/Appointment/"+a.ID+"/_history/"+strconv.FormatInt(a.Version, 10))
	w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, a.Version))
	writeFHIR(w, res.Status, body)
}

func (h *fhirHandler) getAppointment(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	a, err := h.s.store.AppointmentGet(r.Context(), req.clinic.ID, r.PathValue("id"))
	if errors.Is(err, beckon.ErrNotFound) {
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
func fhirAppointmentOut(a beckon.Appointment) ([]byte, error) {
	for _, t := range []time.Time{a.Start, a.Start.Add(a.Duration), a.UpdatedAt} {
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("fhir: appointment %s has a time outside the years 0 to 9999", a.ID)
		}
	}
	status := map[beckon.AppointmentStatus]fhir.AppointmentStatus{
		beckon.StatusBooked: fhir.AppointmentStatusBooked, beckon.StatusArrived: fhir.AppointmentStatusArrived,
		beckon.StatusFulfilled: fhir.AppointmentStatusFulfilled, beckon.StatusCancelled: fhir.AppointmentStatusCancelled,
		beckon.StatusNoShow: fhir.AppointmentStatusNoshow,
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

// postBundle answers a transaction or batch Bundle (feeds.FHIRProcessor.
// Bundle applies it): a transaction-response or batch-response Bundle with
// each entry's status, or, for a transaction of which nothing was applied,
// one OperationOutcome naming the entry at fault.
func (h *fhirHandler) postBundle(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	res, err := h.proc.Bundle(r.Context(), req.in)
	if err != nil {
		fhirAnswerError(w, err, "the transaction could not be applied now; nothing was applied; retry")
		return
	}
	out := make([]bundleEntryResponse, len(res.Entries))
	for i, e := range res.Entries {
		out[i] = entryResponse(e)
	}
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": res.ResponseType, "entry": out})
	writeFHIR(w, http.StatusOK, body)
}

// bundleEntryResponse is one entry of a transaction-response or
// batch-response Bundle.
type bundleEntryResponse struct {
	Response map[string]any `json:"response"`
}

// entryResponse is an entry's response: its status, where the resource now
// is, its version, and for a failure an OperationOutcome.
func entryResponse(e feeds.FHIREntryResult) bundleEntryResponse {
	resp := map[string]any{"status": strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)}
	if e.Location != "" {
		resp["location"] = e.Location
	}
	if e.Status >= 400 {
		code, expr, diag := "exception", "", "could not be applied now; retry"
		var fe *ehr.FHIRError
		if errors.As(e.Err, &fe) {
			code, expr, diag = fe.Code, fe.Expression, fe.Reason
		} else if e.Status < 500 {
			code, diag = "invalid", "the entry is invalid"
		}
		var oo any
		_ = json.Unmarshal(outcome("error", code, expr, diag), &oo)
		resp["outcome"] = oo
	}
	if e.ETag != "" {
		resp["etag"] = e.ETag
	}
	return bundleEntryResponse{Response: resp}
}

// notify answers an R4 Subscriptions backport notification
// (feeds.FHIRProcessor.Notify applies it).
func (h *fhirHandler) notify(w http.ResponseWriter, r *http.Request, req *fhirRequest) {
	res, err := h.proc.Notify(r.Context(), req.in)
	if err != nil {
		fhirAnswerError(w, err, "the notification could not be applied now; retry")
		return
	}
	writeFHIR(w, http.StatusOK, outcome("information", "informational", "", fmt.Sprintf("%d appointment(s) applied", res.Applied)))
}
