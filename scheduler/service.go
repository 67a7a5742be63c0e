package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/beckonhealth/beckon"
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
	Store  beckon.Store
	Clock  beckon.Clock
	Logger *slog.Logger
}

// AppointmentResult is an appointment after an upsert, with its sends.
type AppointmentResult struct {
	Appointment beckon.Appointment
	Sends       []beckon.Send
	Outcome     string
}

// maxConflictRetries bounds retries of a write that lost a version race.
const maxConflictRetries = 5

// UpsertAppointment creates or updates one appointment, re-plans its sends and
// returns it with every send it has ever had.
// An Appointment with empty Confirmation keeps the stored confirmation.
// One appointment is not a batch: an error about it is not an *ItemError.
func (s *Service) UpsertAppointment(ctx context.Context, a beckon.Appointment, actor string) (AppointmentResult, error) {
	o, err := s.applyOne(ctx, a.ClinicID, Change{Appointment: &a}, actor)
	if err != nil {
		return AppointmentResult{}, err
	}
	r := AppointmentResult{Appointment: o.Appointment, Outcome: o.Outcome}
	r.Sends, err = s.Store.SendListByAppointment(ctx, a.ClinicID, r.Appointment.ID)
	return r, err
}

// UpsertAppointments applies many appointments of one clinic in one transaction:
// all of them or none, in order (an appointment given twice is applied twice,
// the second seeing the first). Results carry no Sends. An error about one
// of them is an *ItemError naming it.
func (s *Service) UpsertAppointments(ctx context.Context, clinicID string, as []beckon.Appointment, actor string) ([]AppointmentResult, error) {
	changes := make([]Change, len(as))
	for i := range as {
		changes[i] = Change{Appointment: &as[i]}
	}
	out, err := s.applyTx(ctx, clinicID, changes, actor, 0)
	if err != nil {
		return nil, err
	}
	res := make([]AppointmentResult, len(out))
	for i, o := range out {
		res[i] = AppointmentResult{Appointment: o.Appointment, Outcome: o.Outcome}
	}
	return res, nil
}

// UpsertPatient creates or replaces a patient. Empty consent fields keep what
// is stored (an EHR push never undoes an opt-out it did not carry). When the
// patient's time zone changes, their upcoming appointments are re-planned.
func (s *Service) UpsertPatient(ctx context.Context, p beckon.Patient, actor string) (beckon.Patient, string, error) {
	o, err := s.applyOne(ctx, p.ClinicID, Change{Patient: &p}, actor)
	if err != nil {
		return beckon.Patient{}, "", err
	}
	return *o.Patient, o.Outcome, nil
}

// PutCampaign creates or replaces a campaign (a new revision) and re-plans the
// clinic's upcoming appointments.
func (s *Service) PutCampaign(ctx context.Context, c beckon.Campaign, actor string) (beckon.Campaign, string, error) {
	var saved beckon.Campaign
	var outcome string
	err := s.retryConflicts(ctx, func(q beckon.Querier) error {
		now := s.Clock.Now()
		old, err := q.CampaignGet(ctx, c.ClinicID, c.ID)
		switch {
		case errors.Is(err, beckon.ErrNotFound):
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
		return s.replanUpcoming(ctx, q, c.ClinicID, beckon.AuditEntry{
			ClinicID: c.ClinicID, Actor: actor, Action: "campaign." + outcome,
			Entity: "campaign", EntityID: c.ID, Detail: string(detail), At: now,
		})
	})
	return saved, outcome, err
}

func sameCampaign(a, b beckon.Campaign) bool {
	ja, _ := json.Marshal([]any{a.Name, a.Active, a.Match, a.Steps})
	jb, _ := json.Marshal([]any{b.Name, b.Active, b.Match, b.Steps})
	return string(ja) == string(jb)
}

// DeleteCampaign removes a campaign; its planned sends are superseded.
func (s *Service) DeleteCampaign(ctx context.Context, clinicID, id, actor string) error {
	return s.Store.InTx(ctx, func(q beckon.Querier) error {
		if err := q.CampaignDelete(ctx, clinicID, id); err != nil {
			return err
		}
		return s.replanUpcoming(ctx, q, clinicID, beckon.AuditEntry{
			ClinicID: clinicID, Actor: actor, Action: "campaign.deleted",
			Entity: "campaign", EntityID: id, At: s.Clock.Now(),
		})
	})
}

// retryConflicts runs fn in a transaction, again when it lost a version race.
func (s *Service) retryConflicts(ctx context.Context, fn func(q beckon.Querier) error) error {
	var err error
	for range maxConflictRetries {
		err = s.Store.InTx(ctx, fn)
		if !errors.Is(err, beckon.ErrConflict) {
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
