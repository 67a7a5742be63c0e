package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// Outcomes of an upsert.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// Service applies changes to patients, appointments and campaigns and keeps the
// planned sends in step with them, in the same transaction.
type Service struct {
	Store  store.Store
	Clock  Clock
	Logger *slog.Logger
}

// AppointmentResult is an appointment after an upsert, with its sends.
type AppointmentResult struct {
	Appointment store.Appointment
	Sends       []store.Send
	Outcome     string
}

// maxConflictRetries bounds retries of a write that lost a version race.
const maxConflictRetries = 5

// UpsertAppointment creates or updates one appointment, re-plans its sends and
// returns it with every send it has ever had.
// An Appointment with empty Confirmation keeps the stored confirmation.
// One appointment is not a batch: an error about it is not an *ItemError.
func (s *Service) UpsertAppointment(ctx context.Context, a store.Appointment, actor string) (AppointmentResult, error) {
	res, err := s.UpsertAppointments(ctx, a.ClinicID, []store.Appointment{a}, actor)
	var item *ItemError
	if errors.As(err, &item) {
		return AppointmentResult{}, item.Err
	}
	if err != nil {
		return AppointmentResult{}, err
	}
	r := res[0]
	r.Sends, err = s.Store.SendListByAppointment(ctx, a.ClinicID, r.Appointment.ID)
	return r, err
}

// UpsertAppointments applies many appointments of one clinic in one transaction:
// all of them or none. Results carry no Sends. An error about one of them
// is an *ItemError naming it.
func (s *Service) UpsertAppointments(ctx context.Context, clinicID string, as []store.Appointment, actor string) ([]AppointmentResult, error) {
	var out []AppointmentResult
	err := s.retryConflicts(ctx, func(q store.Querier) error {
		out = out[:0]
		pc, err := s.planContext(ctx, q, clinicID)
		if err != nil {
			return err
		}
		out, err = s.upsertAppointmentBatch(ctx, q, pc, as, actor)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// planContext is what planning needs from the clinic, loaded once per transaction.
type planContext struct {
	clinic    store.Clinic
	campaigns []store.Campaign
	patients  map[string]store.Patient
}

func (s *Service) planContext(ctx context.Context, q store.Querier, clinicID string) (*planContext, error) {
	c, err := q.ClinicGet(ctx, clinicID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownClinic
	}
	if err != nil {
		return nil, err
	}
	cs, err := q.CampaignList(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	return &planContext{clinic: c, campaigns: cs, patients: map[string]store.Patient{}}, nil
}

func (pc *planContext) patient(ctx context.Context, q store.Querier, id string) (store.Patient, error) {
	if p, ok := pc.patients[id]; ok {
		return p, nil
	}
	p, err := q.PatientGet(ctx, pc.clinic.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, ErrUnknownPatient
	}
	if err != nil {
		return p, err
	}
	pc.patients[id] = p
	return p, nil
}

func (s *Service) upsertAppointment(ctx context.Context, q store.Querier, pc *planContext, a store.Appointment, actor string) (store.Appointment, string, error) {
	now := s.Clock.Now()
	patient, err := pc.patient(ctx, q, a.PatientID)
	if err != nil {
		return a, "", err
	}
	old, err := q.AppointmentGet(ctx, a.ClinicID, a.ID)
	var prev *store.Appointment
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return a, "", err
	default:
		prev = &old
	}
	a, outcome := mergeAppointment(prev, a, now)
	if outcome == Unchanged {
		return a, Unchanged, nil
	}
	if err := q.AppointmentPut(ctx, a, a.Version-1); err != nil {
		return a, "", err
	}
	if err := s.replan(ctx, q, pc.clinic, patient, a, pc.campaigns, now); err != nil {
		return a, "", err
	}
	err = q.AuditAppend(ctx, appointmentAudit(a, outcome, actor, now))
	return a, outcome, err
}

// mergeAppointment applies an upsert of a onto the stored appointment (nil if
// there is none): versions, creation time, and a confirmation left empty keeps
// the stored one. An Unchanged outcome returns the stored appointment.
func mergeAppointment(old *store.Appointment, a store.Appointment, now time.Time) (store.Appointment, string) {
	a.Start = a.Start.UTC()
	if old == nil {
		if a.Confirmation == "" {
			a.Confirmation = store.Unconfirmed
		}
		a.Version, a.CreatedAt, a.UpdatedAt = 1, now, now
		return a, Created
	}
	if a.Confirmation == "" {
		a.Confirmation = old.Confirmation
	}
	if sameAppointment(*old, a) {
		return *old, Unchanged
	}
	a.Version, a.CreatedAt, a.UpdatedAt = old.Version+1, old.CreatedAt, now
	return a, Updated
}

// appointmentAudit is the audit entry of an appointment change (ids only).
func appointmentAudit(a store.Appointment, outcome, actor string, now time.Time) store.AuditEntry {
	detail, _ := json.Marshal(map[string]any{"version": a.Version, "status": a.Status, "start": a.Start})
	return store.AuditEntry{
		ClinicID: a.ClinicID,
		Actor:    actor,
		Action:   "appointment." + outcome,
		Entity:   "appointment",
		EntityID: a.ID,
		Detail:   string(detail),
		At:       now,
	}
}

func sameAppointment(a, b store.Appointment) bool {
	return a.PatientID == b.PatientID && a.Start.Equal(b.Start) && a.Duration == b.Duration &&
		a.Type == b.Type && a.Provider == b.Provider && a.Location == b.Location &&
		a.ProviderName == b.ProviderName && a.LocationName == b.LocationName && a.Notes == b.Notes &&
		a.Status == b.Status && a.Confirmation == b.Confirmation
}

// replan writes the plan for the appointment's current version and supersedes
// every planned send not in it.
func (s *Service) replan(ctx context.Context, q store.Querier, c store.Clinic, p store.Patient, a store.Appointment, campaigns []store.Campaign, now time.Time) error {
	sends := Plan(PlanInput{Clinic: c, Patient: p, Appointment: a, Campaigns: campaigns, Now: now})
	if err := q.SendInsert(ctx, sends); err != nil {
		return err
	}
	keep := make([]string, len(sends))
	for i, sd := range sends {
		keep[i] = sd.ID
	}
	reason := supersedeReason(a)
	n, err := q.SendSupersede(ctx, store.SendSupersedeParams{
		ClinicID:      a.ClinicID,
		AppointmentID: a.ID,
		Keep:          keep,
		Reason:        reason,
		Now:           now,
	})
	if err != nil {
		return err
	}
	s.logger().Debug("appointment planned",
		slog.String("clinic_id", a.ClinicID),
		slog.String("appointment_id", a.ID),
		slog.Int64("version", a.Version),
		slog.Int("sends", len(sends)),
		slog.Int("superseded", n))
	return nil
}

// UpsertPatient creates or replaces a patient. Empty consent fields keep what
// is stored (an EHR push never undoes an opt-out it did not carry). When the
// patient's time zone changes, their upcoming appointments are re-planned.
func (s *Service) UpsertPatient(ctx context.Context, p store.Patient, actor string) (store.Patient, string, error) {
	var saved store.Patient
	var outcome string
	err := s.retryConflicts(ctx, func(q store.Querier) error {
		var err error
		saved, outcome, err = s.upsertPatient(ctx, q, p, actor)
		return err
	})
	return saved, outcome, err
}

// upsertPatient is UpsertPatient inside the caller's transaction.
func (s *Service) upsertPatient(ctx context.Context, q store.Querier, p store.Patient, actor string) (store.Patient, string, error) {
	var saved store.Patient
	var outcome string
	err := func() error {
		now := s.Clock.Now()
		old, err := q.PatientGet(ctx, p.ClinicID, p.ID)
		replan := false
		switch {
		case errors.Is(err, store.ErrNotFound):
			outcome = Created
			p.CreatedAt = now
			p.SMSConsent = cmp.Or(p.SMSConsent, store.ConsentUnknown)
			p.EmailConsent = cmp.Or(p.EmailConsent, store.ConsentUnknown)
		case err != nil:
			return err
		default:
			outcome = Updated
			p.CreatedAt = old.CreatedAt
			p.SMSConsent = cmp.Or(p.SMSConsent, old.SMSConsent)
			p.EmailConsent = cmp.Or(p.EmailConsent, old.EmailConsent)
			if samePatient(old, p) {
				saved, outcome = old, Unchanged
				return nil
			}
			replan = old.TimeZone != p.TimeZone
		}
		p.UpdatedAt = now
		if err := q.PatientUpsert(ctx, p); err != nil {
			return err
		}
		saved = p
		if err := q.AuditAppend(ctx, store.AuditEntry{
			ClinicID: p.ClinicID, Actor: actor, Action: "patient." + outcome,
			Entity: "patient", EntityID: p.ID, At: now,
		}); err != nil {
			return err
		}
		if !replan {
			return nil
		}
		return s.replanUpcoming(ctx, q, p.ClinicID, p.ID)
	}()
	return saved, outcome, err
}

func samePatient(a, b store.Patient) bool {
	a.CreatedAt, a.UpdatedAt = time.Time{}, time.Time{}
	b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

// PutCampaign creates or replaces a campaign (a new revision) and re-plans the
// clinic's upcoming appointments.
func (s *Service) PutCampaign(ctx context.Context, c store.Campaign, actor string) (store.Campaign, string, error) {
	var saved store.Campaign
	var outcome string
	err := s.retryConflicts(ctx, func(q store.Querier) error {
		now := s.Clock.Now()
		old, err := q.CampaignGet(ctx, c.ClinicID, c.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			outcome = Created
			c.Revision, c.CreatedAt = 1, now
		case err != nil:
			return err
		default:
			outcome = Updated
			if sameCampaign(old, c) {
				saved, outcome = old, Unchanged
				return nil
			}
			c.Revision, c.CreatedAt = old.Revision+1, old.CreatedAt
		}
		c.UpdatedAt = now
		if err := q.CampaignPut(ctx, c, c.Revision-1); err != nil {
			return err
		}
		saved = c
		detail, _ := json.Marshal(map[string]any{"revision": c.Revision, "steps": len(c.Steps), "active": c.Active})
		if err := q.AuditAppend(ctx, store.AuditEntry{
			ClinicID: c.ClinicID, Actor: actor, Action: "campaign." + outcome,
			Entity: "campaign", EntityID: c.ID, Detail: string(detail), At: now,
		}); err != nil {
			return err
		}
		return s.replanUpcoming(ctx, q, c.ClinicID, "")
	})
	return saved, outcome, err
}

func sameCampaign(a, b store.Campaign) bool {
	ja, _ := json.Marshal([]any{a.Name, a.Active, a.Match, a.Steps})
	jb, _ := json.Marshal([]any{b.Name, b.Active, b.Match, b.Steps})
	return string(ja) == string(jb)
}

// DeleteCampaign removes a campaign; its planned sends are superseded.
func (s *Service) DeleteCampaign(ctx context.Context, clinicID, id, actor string) error {
	return s.Store.InTx(ctx, func(q store.Querier) error {
		now := s.Clock.Now()
		if err := q.CampaignDelete(ctx, clinicID, id); err != nil {
			return err
		}
		if err := q.AuditAppend(ctx, store.AuditEntry{
			ClinicID: clinicID, Actor: actor, Action: "campaign.deleted",
			Entity: "campaign", EntityID: id, At: now,
		}); err != nil {
			return err
		}
		return s.replanUpcoming(ctx, q, clinicID, "")
	})
}

// retryConflicts runs fn in a transaction, again when it lost a version race.
func (s *Service) retryConflicts(ctx context.Context, fn func(q store.Querier) error) error {
	var err error
	for range maxConflictRetries {
		err = s.Store.InTx(ctx, fn)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return err
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
