package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
)

// AppointmentBody is an appointment as an EHR or client sends it.
type AppointmentBody struct {
	PatientID    string `json:"patient_id" minLength:"1" maxLength:"128" pattern:"\\S" patternDescription:"not blank" example:"p-1001" doc:"The patient's id (PUT /v1/patients/{id})"`
	Start        string `json:"start" example:"2030-03-09T10:00:00-04:00" doc:"RFC 3339 with its offset, e.g. 2026-03-09T10:00:00-04:00"`
	Duration     string `json:"duration,omitempty" example:"45m" doc:"e.g. 30m or 1h30m; default 30m"`
	Type         string `json:"type,omitempty" maxLength:"200" doc:"Appointment type, matched by campaigns"`
	Provider     string `json:"provider,omitempty" maxLength:"200" doc:"Provider id, matched by campaigns"`
	ProviderName string `json:"provider_name,omitempty" maxLength:"200" doc:"The provider's name as patients read it, e.g. Dr. Ana Rivera; templates show it as .Appointment.Provider (the id when empty)"`
	Location     string `json:"location,omitempty" maxLength:"200" doc:"Location id, matched by campaigns"`
	LocationName string `json:"location_name,omitempty" maxLength:"200" doc:"The location's name as patients read it, e.g. Main Street Clinic; templates show it as .Appointment.Location (the id when empty)"`
	Notes        string `json:"notes,omitempty" maxLength:"2000" doc:"Scheduling notes for staff (line breaks allowed); never shown to patients"`
	Status       string `json:"status,omitempty" enum:"booked,arrived,fulfilled,cancelled,noshow" doc:"Default booked"`
	Confirmation string `json:"confirmation,omitempty" enum:"unconfirmed,confirmed" doc:"Omit to keep what Beckon has recorded"`
}

// Appointment is an appointment as the API returns it.
type Appointment struct {
	ID           string    `json:"id"`
	PatientID    string    `json:"patient_id"`
	Start        time.Time `json:"start"`
	Duration     string    `json:"duration"`
	Type         string    `json:"type,omitempty"`
	Provider     string    `json:"provider,omitempty"`
	ProviderName string    `json:"provider_name,omitempty"`
	Location     string    `json:"location,omitempty"`
	LocationName string    `json:"location_name,omitempty"`
	Notes        string    `json:"notes,omitempty" doc:"Scheduling notes for staff (HL7 NTE); never shown to patients"`
	Status       string    `json:"status"`
	Confirmation string    `json:"confirmation"`
	Version      int64     `json:"version" doc:"Increases on every change"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Sends        []Send    `json:"sends" doc:"Every planned send, past and future, with its status and reason"`
}

// Send is one planned message of an appointment.
type Send struct {
	ID                 string         `json:"id"`
	CampaignID         string         `json:"campaign_id"`
	StepID             string         `json:"step_id"`
	Channel            beckon.Channel `json:"channel"`
	Template           string         `json:"template,omitempty"`
	DueAt              time.Time      `json:"due_at"`
	Status             string         `json:"status" enum:"planned,claimed,sent,skipped,superseded,failed,unknown"`
	Reason             string         `json:"reason,omitempty" doc:"Why it has this status or due time"`
	AppointmentVersion int64          `json:"appointment_version"`
	Attempts           int            `json:"attempts"`
	MessageID          string         `json:"message_id,omitempty"`
	SentAt             *time.Time     `json:"sent_at,omitempty"`
}

type putAppointmentInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$" doc:"The id in the EHR (or your own)"`
	Body AppointmentBody
}

type appointmentOutput struct {
	Status int
	Body   Appointment
}

// BatchItem is one appointment of a batch.
type BatchItem struct {
	ID string `json:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$"`
	AppointmentBody
}

type batchInput struct {
	Body struct {
		Appointments []BatchItem `json:"appointments" minItems:"1" maxItems:"1000"`
	}
}

// BatchResult is the outcome for one appointment of a batch.
type BatchResult struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome" enum:"created,updated,unchanged"`
	Version int64  `json:"version"`
}

type batchOutput struct {
	Body struct {
		Results []BatchResult `json:"results"`
	}
}

func (s *Server) registerAppointments() {
	huma.Register(s.api, creates(op("put-appointment", http.MethodPut, "/v1/appointments/{id}", "Create or update an appointment; its sends are re-planned", beckon.RoleAdmin, beckon.RoleEHR)),
		func(ctx context.Context, in *putAppointmentInput) (*appointmentOutput, error) {
			k := keyFrom(ctx)
			var fe fieldErrors
			a := appointmentFromBody(k.ClinicID, in.ID, in.Body, "", &fe)
			if err := fe.err(); err != nil {
				return nil, err
			}
			res, err := s.svc.UpsertAppointment(ctx, a, actor(k))
			if err != nil {
				return nil, s.mapError("put-appointment", err)
			}
			return &appointmentOutput{Status: statusFor(res.Outcome), Body: appointmentOut(res.Appointment, res.Sends)}, nil
		})
	huma.Register(s.api, op("get-appointment", http.MethodGet, "/v1/appointments/{id}", "Read an appointment and its sends", beckon.RoleAdmin, beckon.RoleEHR),
		func(ctx context.Context, in *idPath) (*appointmentOutput, error) {
			k := keyFrom(ctx)
			a, err := s.store.AppointmentGet(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-appointment", err)
			}
			sends, err := s.store.SendListByAppointment(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-appointment", err)
			}
			if err := s.auditRead(ctx, "get-appointment", "appointment.read", "appointment", a.ID, a.PatientID); err != nil {
				return nil, err
			}
			return &appointmentOutput{Status: http.StatusOK, Body: appointmentOut(a, sends)}, nil
		})
	bop := op("batch-appointments", http.MethodPost, "/v1/appointments/batch", "Create or update up to 1,000 appointments at once: all or none", beckon.RoleAdmin, beckon.RoleEHR)
	huma.Register(s.api, bop, func(ctx context.Context, in *batchInput) (*batchOutput, error) {
		k := keyFrom(ctx)
		var fe fieldErrors
		seen := make(map[string]int, len(in.Body.Appointments))
		as := make([]beckon.Appointment, len(in.Body.Appointments))
		for i, it := range in.Body.Appointments {
			prefix := fmt.Sprintf("appointments[%d].", i)
			if j, dup := seen[it.ID]; dup {
				fe.add(prefix+"id", "repeats appointments[%d]", j)
			}
			seen[it.ID] = i
			as[i] = appointmentFromBody(k.ClinicID, it.ID, it.AppointmentBody, prefix, &fe)
		}
		if err := fe.err(); err != nil {
			return nil, err
		}
		res, err := s.svc.UpsertAppointments(ctx, k.ClinicID, as, actor(k))
		if err != nil {
			return nil, s.mapError("batch-appointments", err)
		}
		out := &batchOutput{}
		out.Body.Results = make([]BatchResult, len(res))
		for i, r := range res {
			out.Body.Results[i] = BatchResult{ID: r.Appointment.ID, Outcome: r.Outcome, Version: r.Appointment.Version}
		}
		return out, nil
	})
}

// appointmentFromBody validates b; field names are prefixed for batches. A
// PUT replaces the appointment whole: a name or notes left out are cleared.
func appointmentFromBody(clinicID, id string, b AppointmentBody, prefix string, fe *fieldErrors) beckon.Appointment {
	a := beckon.Appointment{
		ClinicID:     clinicID,
		ID:           id,
		PatientID:    b.PatientID,
		Duration:     30 * time.Minute,
		Type:         b.Type,
		Provider:     b.Provider,
		ProviderName: b.ProviderName,
		Location:     b.Location,
		LocationName: b.LocationName,
		Notes:        b.Notes,
		Status:       beckon.AppointmentStatus(b.Status),
		Confirmation: b.Confirmation,
	}
	for _, f := range []struct {
		name, value string
		multiline   bool
	}{
		{"type", b.Type, false}, {"provider", b.Provider, false}, {"provider_name", b.ProviderName, false},
		{"location", b.Location, false}, {"location_name", b.LocationName, false}, {"notes", b.Notes, true},
	} {
		if why := ehr.ValidText(f.value, f.multiline); why != "" {
			fe.add(prefix+f.name, "%s", why)
		}
	}
	if a.Status == "" {
		a.Status = beckon.StatusBooked
	}
	start, err := parseInstant(b.Start)
	if err != nil {
		fe.add(prefix+"start", "%v", err)
	}
	a.Start = start
	if b.Duration != "" {
		d, err := parseDuration(b.Duration)
		switch {
		case err != nil:
			fe.add(prefix+"duration", "%v", err)
		case d <= 0 || d > 24*time.Hour:
			fe.add(prefix+"duration", "must be more than 0 and at most 24h")
		}
		a.Duration = d
	}
	return a
}

func appointmentOut(a beckon.Appointment, sends []beckon.Send) Appointment {
	out := Appointment{
		ID:           a.ID,
		PatientID:    a.PatientID,
		Start:        a.Start,
		Duration:     formatDuration(a.Duration),
		Type:         a.Type,
		Provider:     a.Provider,
		ProviderName: a.ProviderName,
		Location:     a.Location,
		LocationName: a.LocationName,
		Notes:        a.Notes,
		Status:       string(a.Status),
		Confirmation: a.Confirmation,
		Version:      a.Version,
		CreatedAt:    a.CreatedAt,
		UpdatedAt:    a.UpdatedAt,
		Sends:        make([]Send, len(sends)),
	}
	for i, sd := range sends {
		out.Sends[i] = sendOut(sd)
	}
	return out
}

func sendOut(sd beckon.Send) Send {
	o := Send{
		ID:                 sd.ID,
		CampaignID:         sd.CampaignID,
		StepID:             sd.StepID,
		Channel:            sd.Channel,
		Template:           sd.Template,
		DueAt:              sd.DueAt,
		Status:             string(sd.Status),
		Reason:             sd.Reason,
		AppointmentVersion: sd.AppointmentVersion,
		Attempts:           sd.Attempts,
		MessageID:          sd.MessageID,
	}
	if !sd.SentAt.IsZero() {
		t := sd.SentAt
		o.SentAt = &t
	}
	return o
}
