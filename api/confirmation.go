package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/webhooksig"
)

// ConfirmationBody is a patient's answer as staff (or, later, a reply) report it.
type ConfirmationBody struct {
	Response string `json:"response" enum:"confirmed,cancel_requested,reschedule_requested" doc:"What the patient said"`
	By       string `json:"by" minLength:"1" maxLength:"200" pattern:"\\S" patternDescription:"not blank" doc:"Who gave or took the answer, e.g. patient, staff:front-desk"`
	Method   string `json:"method" enum:"phone,in_person,sms,email,portal,other" doc:"How the answer came"`
	Note     string `json:"note,omitempty" maxLength:"1000"`
}

// Confirmation is a recorded answer with its provenance.
type Confirmation struct {
	ID                 string    `json:"id"`
	Response           string    `json:"response"`
	By                 string    `json:"by"`
	Method             string    `json:"method"`
	Note               string    `json:"note,omitempty"`
	Actor              string    `json:"actor" doc:"The API key that recorded it"`
	AppointmentVersion int64     `json:"appointment_version"`
	At                 time.Time `json:"at"`
}

// Writeback is one update of the EHR after a confirmation.
type Writeback struct {
	ID             string    `json:"id"`
	ConfirmationID string    `json:"confirmation_id"`
	Kind           string    `json:"kind" enum:"fhir,webhook"`
	Status         string    `json:"status" enum:"pending,done,skipped,failed"`
	Attempts       int       `json:"attempts"`
	LastError      string    `json:"last_error,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
}

type confirmInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$"`
	Body ConfirmationBody
}

// ConfirmationsView is an appointment's answers and write-backs.
type ConfirmationsView struct {
	Appointment   Appointment    `json:"appointment"`
	Confirmations []Confirmation `json:"confirmations" doc:"Oldest first"`
	Writebacks    []Writeback    `json:"writebacks" doc:"Oldest first"`
}

type confirmationsOutput struct {
	Status int
	Body   ConfirmationsView
}

func (s *Server) registerConfirmation() {
	huma.Register(s.api, answers(http.StatusCreated, op("post-confirmation", http.MethodPost, "/v1/appointments/{id}/confirmation",
		"Record a patient's answer (confirmed, or a request to cancel or reschedule), with who and how; only_if_unconfirmed steps stop and the EHR is updated if the clinic writes back",
		beckon.RoleAdmin, beckon.RoleEHR)),
		func(ctx context.Context, in *confirmInput) (*confirmationsOutput, error) {
			k := keyFrom(ctx)
			res, err := s.svc.Confirm(ctx, beckon.Confirmation{
				ClinicID:      k.ClinicID,
				AppointmentID: in.ID,
				Response:      in.Body.Response,
				By:            in.Body.By,
				Method:        in.Body.Method,
				Note:          in.Body.Note,
				Actor:         actor(k),
			})
			if err != nil {
				return nil, s.mapError("post-confirmation", err)
			}
			if len(res.Writebacks) > 0 && s.cfg.Tasks != nil {
				if err := scheduler.EnqueueWritebacks(ctx, s.cfg.Tasks, s.cfg.Queue, res.Writebacks); err != nil {
					// The write-back is recorded pending; it is visible and can be retried.
					s.logger.Error("write-back enqueue failed", slog.String("appointment_id", in.ID), slog.String("error", err.Error()))
				}
			}
			v, err := s.confirmations(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("post-confirmation", err)
			}
			return &confirmationsOutput{Status: http.StatusCreated, Body: v}, nil
		})
	huma.Register(s.api, op("get-confirmation", http.MethodGet, "/v1/appointments/{id}/confirmation",
		"An appointment's recorded answers and the write-backs to the EHR", beckon.RoleAdmin, beckon.RoleEHR),
		func(ctx context.Context, in *idPath) (*confirmationsOutput, error) {
			k := keyFrom(ctx)
			v, err := s.confirmations(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-confirmation", err)
			}
			if err := s.auditRead(ctx, "get-confirmation", "confirmation.read", "appointment", in.ID, v.Appointment.PatientID); err != nil {
				return nil, err
			}
			return &confirmationsOutput{Status: http.StatusOK, Body: v}, nil
		})
}

func (s *Server) confirmations(ctx context.Context, clinicID, id string) (ConfirmationsView, error) {
	a, err := s.store.AppointmentGet(ctx, clinicID, id)
	if err != nil {
		return ConfirmationsView{}, err
	}
	sends, err := s.store.SendListByAppointment(ctx, clinicID, id)
	if err != nil {
		return ConfirmationsView{}, err
	}
	cs, err := s.store.ConfirmationList(ctx, clinicID, id)
	if err != nil {
		return ConfirmationsView{}, err
	}
	ws, err := s.store.WritebackList(ctx, clinicID, id)
	if err != nil {
		return ConfirmationsView{}, err
	}
	v := ConfirmationsView{Appointment: appointmentOut(a, sends), Confirmations: []Confirmation{}, Writebacks: []Writeback{}}
	for _, c := range cs {
		v.Confirmations = append(v.Confirmations, Confirmation{
			ID: c.ID, Response: c.Response, By: c.By, Method: c.Method, Note: c.Note,
			Actor: c.Actor, AppointmentVersion: c.AppointmentVersion, At: c.At,
		})
	}
	for _, w := range ws {
		v.Writebacks = append(v.Writebacks, Writeback{
			ID: w.ID, ConfirmationID: w.ConfirmationID, Kind: w.Kind, Status: w.Status,
			Attempts: w.Attempts, LastError: w.LastError, UpdatedAt: w.UpdatedAt,
		})
	}
	return v, nil
}

// FeedSettingsBody is a clinic's EHR integration.
type FeedSettingsBody struct {
	Facilities     []string `json:"sending_facilities,omitempty" maxItems:"100" doc:"HL7 sending facilities (MSH-4) whose MLLP messages belong to this clinic"`
	FHIRBaseURL    string   `json:"fhir_base_url,omitempty" maxLength:"500" doc:"The EHR's FHIR R4 base: write-backs and id-only notifications. https, no user name or password, not an internal address (http and internal hosts only where the installation allows them)"`
	FHIRAuthHeader string   `json:"fhir_authorization,omitempty" maxLength:"4000" doc:"Authorization header for the FHIR base (one line, no control characters); write-only"`
	WebhookURL     string   `json:"webhook_url,omitempty" maxLength:"500" doc:"HL7-only EHRs: signed confirmation events go here. Same rules as fhir_base_url"`
	WebhookSecret  string   `json:"webhook_secret,omitempty" maxLength:"200" doc:"Standard Webhooks secret (whsec_…); write-only"`
	Writeback      bool     `json:"writeback,omitempty" doc:"Update the EHR when a confirmation changes"`
}

// FeedSettingsView is the settings as returned: secrets are not shown.
type FeedSettingsView struct {
	Facilities       []string `json:"sending_facilities"`
	FHIRBaseURL      string   `json:"fhir_base_url,omitempty"`
	HasFHIRAuth      bool     `json:"has_fhir_authorization"`
	WebhookURL       string   `json:"webhook_url,omitempty"`
	HasWebhookSecret bool     `json:"has_webhook_secret"`
	Writeback        bool     `json:"writeback"`
}

type feedSettingsInput struct {
	Body FeedSettingsBody
}

type feedSettingsOutput struct {
	Body FeedSettingsView
}

func feedSettingsOut(fs beckon.FeedSettings) FeedSettingsView {
	return FeedSettingsView{
		Facilities: fs.Facilities, FHIRBaseURL: fs.FHIRBaseURL, HasFHIRAuth: fs.FHIRAuthHeader != "",
		WebhookURL: fs.WebhookURL, HasWebhookSecret: fs.WebhookSecret != "", Writeback: fs.Writeback,
	}
}

func (s *Server) registerFeedSettings() {
	huma.Register(s.api, op("get-feed-settings", http.MethodGet, "/v1/clinic/feeds", "The clinic's EHR feed settings"),
		func(ctx context.Context, _ *struct{}) (*feedSettingsOutput, error) {
			fs, err := s.store.FeedSettingsGet(ctx, keyFrom(ctx).ClinicID)
			if err != nil && err != beckon.ErrNotFound {
				return nil, s.mapError("get-feed-settings", err)
			}
			if fs.Facilities == nil {
				fs.Facilities = []string{}
			}
			return &feedSettingsOutput{Body: feedSettingsOut(fs)}, nil
		})
	huma.Register(s.api, op("put-feed-settings", http.MethodPut, "/v1/clinic/feeds", "Set the clinic's EHR feed settings (MLLP allow-list, FHIR base, webhook, write-back)"),
		func(ctx context.Context, in *feedSettingsInput) (*feedSettingsOutput, error) {
			k := keyFrom(ctx)
			var fe fieldErrors
			for _, u := range []struct{ field, v string }{{"fhir_base_url", in.Body.FHIRBaseURL}, {"webhook_url", in.Body.WebhookURL}} {
				if u.v == "" {
					continue
				}
				if err := s.cfg.Egress.CheckURL(u.v); err != nil {
					fe.add(u.field, "%v", err)
				}
			}
			if hasControlChar(in.Body.FHIRAuthHeader) {
				fe.add("fhir_authorization", "must be one line of printable characters (no CR, LF or other control characters)")
			}
			if in.Body.Writeback && in.Body.FHIRBaseURL == "" && in.Body.WebhookURL == "" {
				fe.add("writeback", "needs fhir_base_url or webhook_url")
			}
			if in.Body.WebhookURL != "" && in.Body.WebhookSecret == "" {
				fe.add("webhook_secret", "is required with webhook_url")
			}
			if in.Body.WebhookSecret != "" && !webhooksig.Valid(in.Body.WebhookSecret) {
				fe.add("webhook_secret", `must be "whsec_" followed by the base64 of 24 to 64 random bytes (Standard Webhooks)`)
			}
			if err := fe.err(); err != nil {
				return nil, err
			}
			fs := beckon.FeedSettings{
				ClinicID: k.ClinicID, Facilities: in.Body.Facilities, FHIRBaseURL: in.Body.FHIRBaseURL,
				FHIRAuthHeader: in.Body.FHIRAuthHeader, WebhookURL: in.Body.WebhookURL,
				WebhookSecret: in.Body.WebhookSecret, Writeback: in.Body.Writeback, UpdatedAt: s.svc.Clock.Now(),
			}
			if err := s.store.FeedSettingsPut(ctx, fs); err != nil {
				if err == beckon.ErrConflict {
					return nil, newError(http.StatusConflict, CodeConflict, "sending_facilities: a facility belongs to another clinic",
						FieldError{Field: "sending_facilities", Message: "a facility belongs to another clinic"})
				}
				return nil, s.mapError("put-feed-settings", err)
			}
			saved, err := s.store.FeedSettingsGet(ctx, k.ClinicID)
			if err != nil {
				return nil, s.mapError("put-feed-settings", err)
			}
			return &feedSettingsOutput{Body: feedSettingsOut(saved)}, nil
		})
}

// hasControlChar reports whether s holds a control character (CR and LF
// would let a header value start another header).
func hasControlChar(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
