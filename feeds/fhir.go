package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
)

// FHIRStore is what FHIR processing reads and writes outside the
// scheduler: patients (is one known?), the clinic's FHIR base (to fetch
// what is not), and the inbound archive.
type FHIRStore interface {
	PatientGet(ctx context.Context, clinicID, id string) (beckon.Patient, error)
	FeedSettingsGet(ctx context.Context, clinicID string) (beckon.FeedSettings, error)
	InboundInsert(ctx context.Context, m beckon.InboundMessage) error
}

// FHIRProcessor applies inbound FHIR R4 requests: it maps resources and
// bundles (ehr), fetches patients and notified appointments from the
// clinic's FHIR base, applies them through the planning service, and
// archives each request with its outcome. api's /fhir/r4 handlers call it
// once per request and answer what it returns.
type FHIRProcessor struct {
	Store   FHIRStore
	Service *scheduler.Service
	Clock   beckon.Clock
	Logger  *slog.Logger
	Client  *http.Client // fetches from the EHR's FHIR base
	// Metrics counts the requests by outcome; nil: none.
	Metrics Metrics
}

// FHIRInput is one request to process.
type FHIRInput struct {
	ClinicID string
	Location *time.Location // the clinic's time zone
	Raw      []byte         // the body as received
	Actor    string
}

// ErrFHIRUnavailable: Beckon could not apply the request now (a store or
// scheduler failure, logged with ids); the sender should retry. Any other
// error the processor returns is an *ehr.FHIRError refusing the request.
var ErrFHIRUnavailable = errors.New("feeds: the FHIR request could not be applied now")

// FHIRStatus is the HTTP status that answers err: 503 for
// ErrFHIRUnavailable, 400 for a body that is not a readable resource (an
// ehr.FHIRError with code structure), else 422.
func FHIRStatus(err error) int {
	var fe *ehr.FHIRError
	switch {
	case errors.Is(err, ErrFHIRUnavailable):
		return http.StatusServiceUnavailable
	case errors.As(err, &fe) && fe.Code == "structure":
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// entryStatus is the status of an entry (or resource) that was not
// applied: 503 when Beckon failed, else 422.
func entryStatus(err error) int {
	if errors.Is(err, ErrFHIRUnavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

// FHIRAppointmentResult is what became of an Appointment created or
// updated: Status is 201 when it created the appointment, else 200.
type FHIRAppointmentResult struct {
	Status int
	Feed   scheduler.FeedResult
}

// Reject archives a request refused before it was read as FHIR (its text,
// its JSON keys) with the status it was answered and why.
func (p *FHIRProcessor) Reject(ctx context.Context, in FHIRInput, status int, detail string) {
	p.archive(ctx, in, status, beckon.FeedRejected, detail, "")
}

// Appointment creates or updates one Appointment (POST, or PUT with the
// id of the URL in pathID) and archives the request. The patient is taken
// from the resource (contained), else must be known to Beckon, else is
// fetched from the clinic's FHIR base.
func (p *FHIRProcessor) Appointment(ctx context.Context, in FHIRInput, pathID string) (FHIRAppointmentResult, error) {
	fa, err := ehr.MapFHIRAppointment(in.Raw, in.Location, nil)
	if err == nil {
		switch {
		case pathID != "" && fa.Appointment.ID != "" && fa.Appointment.ID != pathID:
			err = &ehr.FHIRError{Code: "invalid", Expression: "Appointment.id", Reason: "the id differs from the URL's"}
		case pathID != "":
			fa.Appointment.ID = pathID
		}
	}
	if err == nil && !ehr.ValidID(fa.Appointment.ID) {
		err = &ehr.FHIRError{Code: "required", Expression: "Appointment.id", Reason: "the Appointment needs the EHR's id (letters, digits, . _ : -)"}
	}
	if err != nil {
		p.archive(ctx, in, FHIRStatus(err), beckon.FeedRejected, err.Error(), "")
		return FHIRAppointmentResult{}, err
	}
	res, err := p.apply(ctx, in, fa, "Appointment")
	switch {
	case errors.Is(err, ErrFHIRUnavailable):
		p.archive(ctx, in, http.StatusServiceUnavailable, beckon.FeedError, "", fa.Appointment.ID)
		return FHIRAppointmentResult{}, err
	case err != nil:
		p.archive(ctx, in, http.StatusUnprocessableEntity, beckon.FeedRejected, err.Error(), fa.Appointment.ID)
		return FHIRAppointmentResult{}, err
	}
	p.archive(ctx, in, res.Status, res.Feed.Result, "", fa.Appointment.ID)
	return res, nil
}

// apply applies one mapped appointment; exprPrefix is the FHIRPath of the
// resource (for errors).
func (p *FHIRProcessor) apply(ctx context.Context, in FHIRInput, fa ehr.FHIRAppointment, exprPrefix string) (FHIRAppointmentResult, error) {
	ev, patientExpr, err := p.event(ctx, in, fa, exprPrefix)
	if err != nil {
		return FHIRAppointmentResult{}, err
	}
	res, err := p.Service.ApplyEvent(ctx, in.ClinicID, ev, in.Actor)
	if err != nil {
		return FHIRAppointmentResult{}, p.applyError(in, err, patientExpr)
	}
	status := http.StatusOK
	if res.Outcome == scheduler.Created {
		status = http.StatusCreated
	}
	return FHIRAppointmentResult{Status: status, Feed: res}, nil
}

// event builds the feed event of a mapped appointment, fetching its patient
// from the clinic's FHIR base when Beckon does not know it. It returns the
// expression of the patient participant (for errors).
func (p *FHIRProcessor) event(ctx context.Context, in FHIRInput, fa ehr.FHIRAppointment, exprPrefix string) (scheduler.FeedEvent, string, error) {
	ev := feedEvent(in, fa)
	patientExpr := fmt.Sprintf("%s.participant[%d].actor", exprPrefix, fa.PatientIndex)
	if fa.Patient != nil {
		ev.Patient = feedPatient(*fa.Patient, fa.Appointment.PatientID)
	} else if !ev.Partial {
		_, err := p.Store.PatientGet(ctx, in.ClinicID, fa.Appointment.PatientID)
		switch {
		case errors.Is(err, beckon.ErrNotFound):
			pat, ferr := p.fetchPatient(ctx, in.ClinicID, fa.Appointment.PatientID)
			if ferr != nil {
				return ev, patientExpr, &ehr.FHIRError{Code: "not-found", Expression: patientExpr, Reason: ferr.Error()}
			}
			ev.Patient = pat
		case err != nil:
			p.Logger.Error("fhir: patient lookup failed", slog.String("clinic_id", in.ClinicID), slog.String("error", err.Error()))
			return ev, patientExpr, ErrFHIRUnavailable
		}
	}
	return ev, patientExpr, nil
}

// feedEvent is the feed event of a mapped appointment, without its
// patient's data (event adds it).
func feedEvent(in FHIRInput, fa ehr.FHIRAppointment) scheduler.FeedEvent {
	sum := sha256.Sum256(in.Raw)
	return scheduler.FeedEvent{
		Appointment:   fa.Appointment,
		Partial:       !fa.Scheduled || fa.Appointment.Status == beckon.StatusCancelled,
		NotScheduled:  !fa.Scheduled,
		SourceAt:      fa.LastUpdated,
		SourceVersion: fa.Version,
		EHRVersion:    fa.VersionID,
		Digest:        hex.EncodeToString(sum[:]) + ":" + fa.Appointment.ID,
	}
}

func feedPatient(p ehr.Patient, id string) beckon.Patient {
	return beckon.Patient{ID: id, FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone, Email: p.Email, Language: p.Language}
}

// applyError is what the scheduler's refusal or failure of an event says
// to the sender: an *ehr.FHIRError for what the resource must change, else
// ErrFHIRUnavailable (logged here).
func (p *FHIRProcessor) applyError(in FHIRInput, err error, patientExpr string) error {
	switch {
	case errors.Is(err, scheduler.ErrUnknownPatient), errors.Is(err, scheduler.ErrIncompleteEvent):
		return &ehr.FHIRError{Code: "required", Expression: patientExpr, Reason: "the appointment is not known and lacks a known patient or a start"}
	case errors.Is(err, beckon.ErrInvalidData):
		// The database refused a value for what it is: retrying cannot help.
		p.Logger.Warn("fhir: refused by the database", slog.String("clinic_id", in.ClinicID), slog.String("error", err.Error()))
		return &ehr.FHIRError{Code: "invalid", Reason: "a value cannot be stored as text; correct the resource"}
	}
	p.Logger.Error("fhir: apply failed", slog.String("clinic_id", in.ClinicID), slog.String("error", err.Error()))
	return ErrFHIRUnavailable
}

// archive keeps the inbound request with its outcome: the status it was
// answered, the result and why.
func (p *FHIRProcessor) archive(ctx context.Context, in FHIRInput, status int, result, detail, apptID string) {
	count(p.Metrics, SourceFHIR, result)
	sum := sha256.Sum256(in.Raw)
	err := p.Store.InboundInsert(context.WithoutCancel(ctx), beckon.InboundMessage{
		ClinicID:      in.ClinicID,
		Transport:     beckon.TransportHTTP,
		Format:        beckon.FormatFHIR,
		ControlID:     truncate(apptID, 200),
		Digest:        hex.EncodeToString(sum[:]),
		Raw:           in.Raw,
		Outcome:       strconv.Itoa(status),
		Result:        result,
		Detail:        truncate(detail, 500),
		AppointmentID: truncate(apptID, 200),
		ReceivedAt:    p.Clock.Now(),
	})
	if err != nil {
		p.Logger.Error("fhir: archive failed", slog.String("clinic_id", in.ClinicID), slog.String("error", err.Error()))
	}
	p.Logger.Info("fhir message", slog.String("clinic_id", in.ClinicID), slog.Int("status", status),
		slog.String("result", result), slog.String("appointment_id", apptID), slog.Int("size", len(in.Raw)))
}
