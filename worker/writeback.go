package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/egress"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/webhooksig"
)

// Writebacker updates the EHR after a confirmation (tasks.TypeWriteback):
// for FHIR EHRs the patient participant's status on the Appointment at the
// clinic's FHIR base, with If-Match, never over a newer human change; for
// HL7-only EHRs a signed event (Standard Webhooks) to the clinic's URL.
type Writebacker struct {
	Store  beckon.Store
	Client *http.Client
	Clock  beckon.Clock
	Logger *slog.Logger
}

// NewWritebacker returns a handler whose HTTP client is bounded in time and
// calls only the destinations the egress policy allows.
func NewWritebacker(st beckon.Store, clock beckon.Clock, logger *slog.Logger, policy egress.Policy) *Writebacker {
	return &Writebacker{Store: st, Client: policy.Client(20*time.Second, logger), Clock: clock,
		Logger: logger.With(slog.String("component", "writeback"))}
}

// errSkipped ends a write-back that must not overwrite a newer EHR change.
var errSkipped = errors.New("the EHR has a newer change by someone else")

// ProcessTask implements asynq.Handler.
func (wb *Writebacker) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseWritebackPayload(t.Payload())
	if errors.Is(err, tasks.ErrNoClinic) {
		// Queued before payloads carried the clinic: dropped (which frees its
		// task id), the recheck enqueues the pending write-back again.
		wb.Logger.Warn("write-back task without a clinic dropped", slog.String("writeback_id", p.WritebackID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("bad write-back payload: %w", asynq.SkipRetry)
	}
	w, err := wb.Store.WritebackGet(ctx, p.ClinicID, p.WritebackID)
	if errors.Is(err, beckon.ErrNotFound) {
		return fmt.Errorf("write-back %s: %w", p.WritebackID, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if w.Status != beckon.WritebackPending {
		return nil
	}
	err = wb.run(ctx, w)
	w.Attempts++
	w.UpdatedAt = wb.Clock.Now()
	switch {
	case err == nil:
		w.Status, w.LastError = beckon.WritebackDone, ""
	case errors.Is(err, errSkipped):
		w.Status, w.LastError = beckon.WritebackSkipped, err.Error()
		err = nil
	default:
		w.LastError = err.Error()
		retried, _ := asynq.GetRetryCount(ctx)
		max, ok := asynq.GetMaxRetry(ctx)
		if errors.Is(err, asynq.SkipRetry) || (ok && retried >= max) {
			w.Status = beckon.WritebackFailed
		}
	}
	if uerr := wb.Store.WritebackUpdate(context.WithoutCancel(ctx), w); uerr != nil {
		return uerr
	}
	wb.Logger.Info("write-back", slog.String("writeback_id", w.ID), slog.String("clinic_id", w.ClinicID),
		slog.String("appointment_id", w.AppointmentID), slog.String("kind", w.Kind), slog.String("status", w.Status),
		slog.Int("attempts", w.Attempts))
	return err
}

func (wb *Writebacker) run(ctx context.Context, w beckon.Writeback) error {
	fs, err := wb.Store.FeedSettingsGet(ctx, w.ClinicID)
	if err != nil {
		return fmt.Errorf("feed settings: %w", err)
	}
	a, err := wb.Store.AppointmentGet(ctx, w.ClinicID, w.AppointmentID)
	if err != nil {
		return fmt.Errorf("appointment: %w", err)
	}
	switch w.Kind {
	case beckon.WritebackFHIR:
		return wb.fhir(ctx, fs, a)
	case beckon.WritebackWebhook:
		return wb.webhook(ctx, fs, w, a)
	}
	return fmt.Errorf("unknown write-back kind: %w", asynq.SkipRetry)
}

// fhir sets the patient participant's status. It reads the Appointment, and
// writes it back with If-Match on the version read. On 412 it reads again:
// when a person has meanwhile set the patient's status (anything but
// needs-action, other than what we would write), it stops without
// overwriting; otherwise it tries again on the new version.
func (wb *Writebacker) fhir(ctx context.Context, fs beckon.FeedSettings, a beckon.Appointment) error {
	want := ehr.ParticipantStatus(a.Confirmation)
	base := strings.TrimRight(fs.FHIRBaseURL, "/") + "/Appointment/" + a.ID
	state, _ := wb.Store.FeedStateGet(ctx, a.ClinicID, a.ID)
	lastSeen := state.EHRVersion
	for attempt := 0; attempt < 3; attempt++ {
		doc, version, err := wb.fhirRead(ctx, fs, base)
		if err != nil {
			return err
		}
		idx, current, err := patientParticipant(doc)
		if err != nil {
			return err
		}
		if current == want {
			return nil
		}
		// A version newer than the one Beckon last saw, in which a person
		// answered for the patient: theirs is the newer truth.
		if lastSeen != "" && version != lastSeen && current != "needs-action" {
			return errSkipped
		}
		if err := setParticipantStatus(doc, idx, want); err != nil {
			return err
		}
		body, _ := json.Marshal(doc)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		if version != "" {
			req.Header.Set("If-Match", `W/"`+version+`"`)
		}
		if fs.FHIRAuthHeader != "" {
			req.Header.Set("Authorization", fs.FHIRAuthHeader)
		}
		resp, err := wb.Client.Do(req)
		if err != nil {
			return errors.New("the EHR's FHIR server did not answer")
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
			if nv := etagVersion(resp.Header.Get("ETag")); nv != "" {
				state.EHRVersion = nv
				if state.ClinicID != "" {
					_ = wb.Store.FeedStatePut(ctx, state)
				}
			}
			return nil
		case resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusConflict:
			// Someone changed it between our read and write: read again, and
			// judge against the version we had read.
			lastSeen = version
			continue
		case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
			return fmt.Errorf("the EHR refused the update with %d: %w", resp.StatusCode, asynq.SkipRetry)
		default:
			return fmt.Errorf("the EHR answered %d", resp.StatusCode)
		}
	}
	return errors.New("the EHR's Appointment kept changing")
}

func (wb *Writebacker) fhirRead(ctx context.Context, fs beckon.FeedSettings, url string) (map[string]json.RawMessage, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("the FHIR base URL is not usable: %w", asynq.SkipRetry)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if fs.FHIRAuthHeader != "" {
		req.Header.Set("Authorization", fs.FHIRAuthHeader)
	}
	resp, err := wb.Client.Do(req)
	if err != nil {
		return nil, "", errors.New("the EHR's FHIR server did not answer")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			return nil, "", fmt.Errorf("the EHR has no such Appointment (%d): %w", resp.StatusCode, asynq.SkipRetry)
		}
		return nil, "", fmt.Errorf("reading the Appointment: the EHR answered %d", resp.StatusCode)
	}
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&doc); err != nil {
		return nil, "", errors.New("the EHR's Appointment is not JSON")
	}
	version := etagVersion(resp.Header.Get("ETag"))
	var meta struct {
		VersionID string `json:"versionId"`
	}
	if m, ok := doc["meta"]; ok && json.Unmarshal(m, &meta) == nil && meta.VersionID != "" {
		version = meta.VersionID
	}
	return doc, version, nil
}

// patientParticipant finds the participant whose actor is a Patient.
func patientParticipant(doc map[string]json.RawMessage) (int, string, error) {
	var parts []fhir.AppointmentParticipant
	if err := json.Unmarshal(doc["participant"], &parts); err != nil {
		return 0, "", fmt.Errorf("the EHR's Appointment has unreadable participants: %w", asynq.SkipRetry)
	}
	for i, p := range parts {
		if p.Actor != nil && p.Actor.Reference != nil && strings.Contains(*p.Actor.Reference, "Patient/") {
			return i, p.Status.Code(), nil
		}
		if p.Actor != nil && p.Actor.Type != nil && *p.Actor.Type == "Patient" {
			return i, p.Status.Code(), nil
		}
	}
	return 0, "", fmt.Errorf("the EHR's Appointment has no patient participant: %w", asynq.SkipRetry)
}

// setParticipantStatus changes only participant[idx].status, keeping every
// other element as the EHR sent it.
func setParticipantStatus(doc map[string]json.RawMessage, idx int, status string) error {
	var parts []map[string]json.RawMessage
	if err := json.Unmarshal(doc["participant"], &parts); err != nil || idx >= len(parts) {
		return fmt.Errorf("the EHR's Appointment has unreadable participants: %w", asynq.SkipRetry)
	}
	parts[idx]["status"], _ = json.Marshal(status)
	doc["participant"], _ = json.Marshal(parts)
	return nil
}

func etagVersion(etag string) string {
	etag = strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	return strings.Trim(etag, `"`)
}

// webhook posts a signed event as the Standard Webhooks specification
// describes: webhook-id, webhook-timestamp and webhook-signature
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" with the secret's bytes.
func (wb *Writebacker) webhook(ctx context.Context, fs beckon.FeedSettings, w beckon.Writeback, a beckon.Appointment) error {
	secret, err := webhooksig.Key(fs.WebhookSecret)
	if err != nil {
		return fmt.Errorf("webhook secret: %w", asynq.SkipRetry)
	}
	now := wb.Clock.Now()
	var conf beckon.Confirmation
	if cs, err := wb.Store.ConfirmationList(ctx, w.ClinicID, w.AppointmentID); err == nil {
		for _, c := range cs {
			if c.ID == w.ConfirmationID {
				conf = c
			}
		}
	}
	body, _ := json.Marshal(map[string]any{
		"type":      "appointment.confirmation",
		"timestamp": now.UTC().Format(time.RFC3339Nano),
		"data": map[string]any{
			"appointment_id":      a.ID,
			"patient_id":          a.PatientID,
			"confirmation":        a.Confirmation,
			"participant_status":  ehr.ParticipantStatus(a.Confirmation),
			"appointment_version": a.Version,
			"by":                  conf.By,
			"method":              conf.Method,
			"at":                  conf.At,
		},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fs.WebhookURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	webhooksig.SetHeaders(req.Header, secret, w.ID, now, body)
	resp, err := wb.Client.Do(req)
	if err != nil {
		return errors.New("the clinic's webhook did not answer")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the clinic's webhook answered %d", resp.StatusCode)
	}
	return nil
}
