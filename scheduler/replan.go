package scheduler

import (
	"context"
	"fmt"

	"github.com/beckonhealth/beckon/store"
)

// replanChunk is how many appointments are re-planned per round of
// set-at-a-time statements.
const replanChunk = 1000

// replanUpcoming re-plans the clinic's (or one patient's) upcoming
// appointments inside the caller's transaction, so that a changed campaign
// and the sends it supersedes commit together. It works a thousand
// appointments at a time: read the patients it lacks, plan in memory, insert
// the new sends and supersede the rest in a few statements, so a campaign
// change at a clinic with 100,000 upcoming appointments is a few hundred
// statements, not a few hundred thousand.
func (s *Service) replanUpcoming(ctx context.Context, q store.Querier, clinicID, patientID string) error {
	pc, err := s.planContext(ctx, q, clinicID)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	as, err := q.AppointmentListUpcoming(ctx, store.AppointmentListParams{ClinicID: clinicID, PatientID: patientID, After: now})
	if err != nil {
		return err
	}
	planned, superseded := 0, 0
	for start := 0; start < len(as); start += replanChunk {
		p, n, err := s.replanMany(ctx, q, pc, as[start:min(start+replanChunk, len(as))])
		if err != nil {
			return err
		}
		planned, superseded = planned+p, superseded+n
	}
	s.logger().Debug("upcoming appointments re-planned",
		"clinic_id", clinicID,
		"appointments", len(as),
		"sends", planned,
		"superseded", superseded)
	return nil
}

// replanMany plans the appointments again and supersedes their planned sends
// that the new plans do not keep; it returns how many sends were planned and
// how many superseded.
func (s *Service) replanMany(ctx context.Context, q store.Querier, pc *planContext, as []store.Appointment) (planned, superseded int, err error) {
	now := s.Clock.Now()
	var missing []string
	for _, a := range as {
		if _, ok := pc.patients[a.PatientID]; !ok {
			missing = append(missing, a.PatientID)
		}
	}
	if len(missing) > 0 {
		ps, err := q.PatientGetMany(ctx, pc.clinic.ID, missing)
		if err != nil {
			return 0, 0, err
		}
		for id, p := range ps {
			pc.patients[id] = p
		}
	}
	var sends []store.Send
	var keep []string
	byReason := map[string][]string{} // supersede reason → appointment ids
	for _, a := range as {
		p, ok := pc.patients[a.PatientID]
		if !ok {
			return 0, 0, fmt.Errorf("appointment %s: %w", a.ID, ErrUnknownPatient)
		}
		for _, sd := range Plan(PlanInput{Clinic: pc.clinic, Patient: p, Appointment: a, Campaigns: pc.campaigns, Now: now}) {
			sends = append(sends, sd)
			keep = append(keep, sd.ID)
		}
		r := supersedeReason(a)
		byReason[r] = append(byReason[r], a.ID)
	}
	if err := q.SendInsert(ctx, sends); err != nil {
		return 0, 0, err
	}
	for reason, ids := range byReason {
		n, err := q.SendSupersedeMany(ctx, store.SendSupersedeManyParams{
			ClinicID:       pc.clinic.ID,
			AppointmentIDs: ids,
			Keep:           keep,
			Reason:         reason,
			Now:            now,
		})
		if err != nil {
			return 0, 0, err
		}
		superseded += n
	}
	return len(sends), superseded, nil
}
