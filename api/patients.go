package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
)

// PatientBody is a patient as a client sends it.
type PatientBody struct {
	FirstName        string         `json:"first_name" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"not blank" example:"Ana" doc:"Given name, used in messages"`
	LastName         string         `json:"last_name,omitempty" maxLength:"100"`
	Phone            string         `json:"phone,omitempty" maxLength:"16" example:"+14155550123" doc:"Mobile number in E.164, e.g. +14155550123"`
	Email            string         `json:"email,omitempty" maxLength:"254" example:"ana@example.com"`
	Language         string         `json:"language,omitempty" maxLength:"35" example:"es-MX" doc:"BCP 47 tag; default en"`
	TimeZone         string         `json:"time_zone,omitempty" maxLength:"64" example:"America/Chicago" doc:"IANA zone; default the clinic's"`
	PreferredChannel beckon.Channel `json:"preferred_channel,omitempty" enum:"sms,email"`
	Consent          *ConsentBody   `json:"consent,omitempty" doc:"Omit to keep what Beckon has recorded. A state that differs from the recorded one is added to the consent ledger (how: api); unknown changes nothing"`
}

// ConsentBody is the patient's consent per channel.
type ConsentBody struct {
	SMS   string `json:"sms,omitempty" enum:"unknown,opted_in,opted_out"`
	Email string `json:"email,omitempty" enum:"unknown,opted_in,opted_out"`
}

// Patient is a patient as the API returns it.
type Patient struct {
	ID               string         `json:"id"`
	FirstName        string         `json:"first_name"`
	LastName         string         `json:"last_name,omitempty"`
	Phone            string         `json:"phone,omitempty"`
	Email            string         `json:"email,omitempty"`
	Language         string         `json:"language"`
	TimeZone         string         `json:"time_zone,omitempty"`
	PreferredChannel beckon.Channel `json:"preferred_channel,omitempty"`
	Consent          ConsentBody    `json:"consent"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
}

type idPath struct {
	ID string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$" doc:"The id in the EHR (or your own)"`
}

type putPatientInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$" doc:"The id in the EHR (or your own)"`
	Body PatientBody
}

type patientOutput struct {
	Status int
	Body   Patient
}

func (s *Server) registerPatients() {
	huma.Register(s.api, creates(op("put-patient", http.MethodPut, "/v1/patients/{id}", "Create or replace a patient", beckon.RoleAdmin, beckon.RoleEHR)),
		func(ctx context.Context, in *putPatientInput) (*patientOutput, error) {
			k := keyFrom(ctx)
			p, err := patientFromBody(k.ClinicID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			// Consent changes only through the ledger: the patient is written
			// with what is recorded (patientFromBody leaves consent empty),
			// then a consent that changes it is appended to the ledger.
			_, outcome, err := s.svc.UpsertPatient(ctx, p, actor(k))
			if err != nil {
				return nil, s.mapError("put-patient", err)
			}
			saved, err := s.store.PatientGet(ctx, k.ClinicID, p.ID)
			if err != nil {
				return nil, s.mapError("put-patient", err)
			}
			if in.Body.Consent != nil {
				changed, err := s.recordPutConsent(ctx, k, saved, *in.Body.Consent)
				if err != nil {
					return nil, s.mapError("put-patient", err)
				}
				if changed {
					if saved, err = s.store.PatientGet(ctx, k.ClinicID, p.ID); err != nil {
						return nil, s.mapError("put-patient", err)
					}
				}
			}
			return &patientOutput{Status: statusFor(outcome), Body: patientOut(saved)}, nil
		})
	huma.Register(s.api, op("get-patient", http.MethodGet, "/v1/patients/{id}", "Read a patient", beckon.RoleAdmin, beckon.RoleEHR),
		func(ctx context.Context, in *idPath) (*patientOutput, error) {
			p, err := s.store.PatientGet(ctx, keyFrom(ctx).ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-patient", err)
			}
			if err := s.auditRead(ctx, "get-patient", "patient.read", "patient", p.ID, p.ID); err != nil {
				return nil, err
			}
			return &patientOutput{Status: http.StatusOK, Body: patientOut(p)}, nil
		})
}

func patientFromBody(clinicID, id string, b PatientBody) (beckon.Patient, error) {
	var fe fieldErrors
	p := beckon.Patient{
		ClinicID:         clinicID,
		ID:               id,
		FirstName:        b.FirstName,
		LastName:         b.LastName,
		Phone:            b.Phone,
		Email:            b.Email,
		Language:         "en",
		TimeZone:         b.TimeZone,
		PreferredChannel: b.PreferredChannel,
	}
	if b.Phone != "" {
		if err := validPhone(b.Phone); err != nil {
			fe.add("phone", "%v", err)
		}
	}
	if b.Email != "" {
		if err := validEmail(b.Email); err != nil {
			fe.add("email", "%v", err)
		}
	}
	if b.Language != "" {
		l, err := normalLanguage(b.Language)
		if err != nil {
			fe.add("language", "%v", err)
		}
		p.Language = l
	}
	if b.TimeZone != "" {
		if err := validZone(b.TimeZone); err != nil {
			fe.add("time_zone", "%v", err)
		}
	}
	if b.Phone == "" && b.Email == "" {
		fe.add("phone", "a patient needs a phone number or an email address")
	}
	if b.PreferredChannel == beckon.ChannelSMS && b.Phone == "" {
		fe.add("preferred_channel", "sms needs a phone number")
	}
	if b.PreferredChannel == beckon.ChannelEmail && b.Email == "" {
		fe.add("preferred_channel", "email needs an email address")
	}
	if b.Consent != nil {
		if decided(b.Consent.SMS) && b.Phone == "" {
			fe.add("consent.sms", "sms consent needs a phone number")
		}
		if decided(b.Consent.Email) && b.Email == "" {
			fe.add("consent.email", "email consent needs an email address")
		}
	}
	return p, fe.err()
}

// decided reports whether a consent state is a decision (opted in or out).
func decided(state string) bool {
	return state == beckon.ConsentOptedIn || state == beckon.ConsentOptedOut
}

func patientOut(p beckon.Patient) Patient {
	return Patient{
		ID:               p.ID,
		FirstName:        p.FirstName,
		LastName:         p.LastName,
		Phone:            p.Phone,
		Email:            p.Email,
		Language:         p.Language,
		TimeZone:         p.TimeZone,
		PreferredChannel: p.PreferredChannel,
		Consent:          ConsentBody{SMS: p.SMSConsent, Email: p.EmailConsent},
		CreatedAt:        p.CreatedAt,
		UpdatedAt:        p.UpdatedAt,
	}
}

// statusFor is 201 for a created resource and 200 otherwise.
func statusFor(outcome string) int {
	if outcome == "created" {
		return http.StatusCreated
	}
	return http.StatusOK
}
