package scheduler

import (
	"context"
	"slices"

	"github.com/beckonhealth/beckon/store"
)

// upsertAppointmentBatch applies many appointments of one clinic with a few
// set-at-a-time statements instead of several per appointment: read the stored
// appointments and patients, merge and plan in memory, then write the changed
// appointments, their sends, the superseded sends and the audit entries.
// An appointment that appears twice is applied once, as its last occurrence.
func (s *Service) upsertAppointmentBatch(ctx context.Context, q store.Querier, pc *planContext, as []store.Appointment, actor string) ([]AppointmentResult, error) {
	now := s.Clock.Now()
	clinicID := pc.clinic.ID
	ids := make([]string, 0, len(as))
	var pids []string
	for _, a := range as {
		ids = append(ids, a.ID)
		if _, ok := pc.patients[a.PatientID]; !ok && !slices.Contains(pids, a.PatientID) {
			pids = append(pids, a.PatientID)
		}
	}
	stored, err := q.AppointmentGetMany(ctx, clinicID, ids)
	if err != nil {
		return nil, err
	}
	if len(pids) > 0 {
		ps, err := q.PatientGetMany(ctx, clinicID, pids)
		if err != nil {
			return nil, err
		}
		for id, p := range ps {
			pc.patients[id] = p
		}
	}

	out := make([]AppointmentResult, len(as))
	changedAt := map[string]int{} // appointment id → index in changed
	var changed []store.Appointment
	plans := map[string][]store.Send{}
	for i, a := range as {
		a.ClinicID = clinicID
		p, ok := pc.patients[a.PatientID]
		if !ok {
			return nil, &ItemError{Index: i, Field: "patient_id", Err: ErrUnknownPatient}
		}
		var prev *store.Appointment
		if old, ok := stored[a.ID]; ok {
			prev = &old
		}
		merged, outcome := mergeAppointment(prev, a, now)
		out[i] = AppointmentResult{Appointment: merged, Outcome: outcome}
		if outcome == Unchanged {
			continue
		}
		if j, dup := changedAt[a.ID]; dup {
			changed[j] = merged
		} else {
			changedAt[a.ID] = len(changed)
			changed = append(changed, merged)
		}
		plans[a.ID] = Plan(PlanInput{Clinic: pc.clinic, Patient: p, Appointment: merged, Campaigns: pc.campaigns, Now: now})
	}
	if len(changed) == 0 {
		return out, nil
	}

	expect := make([]int64, len(changed))
	var sends []store.Send
	var keep []string
	supersede := map[string][]string{} // reason → appointment ids
	audits := make([]store.AuditEntry, 0, len(changed))
	for i, a := range changed {
		expect[i] = a.Version - 1
		for _, sd := range plans[a.ID] {
			sends = append(sends, sd)
			keep = append(keep, sd.ID)
		}
		if a.Version > 1 {
			r := supersedeReason(a)
			supersede[r] = append(supersede[r], a.ID)
		}
		outcome := Updated
		if a.Version == 1 {
			outcome = Created
		}
		audits = append(audits, appointmentAudit(a, outcome, actor, now))
	}
	if err := q.AppointmentPutMany(ctx, changed, expect); err != nil {
		return nil, err
	}
	if err := q.SendInsert(ctx, sends); err != nil {
		return nil, err
	}
	for reason, apptIDs := range supersede {
		if _, err := q.SendSupersedeMany(ctx, store.SendSupersedeManyParams{
			ClinicID:       clinicID,
			AppointmentIDs: apptIDs,
			Keep:           keep,
			Reason:         reason,
			Now:            now,
		}); err != nil {
			return nil, err
		}
	}
	if err := q.AuditAppendMany(ctx, audits); err != nil {
		return nil, err
	}
	s.logger().Debug("appointments planned",
		"clinic_id", clinicID,
		"appointments", len(as),
		"changed", len(changed),
		"sends", len(sends))
	return out, nil
}

// supersedeReason says why an appointment's older sends no longer hold.
func supersedeReason(a store.Appointment) string {
	switch a.Status {
	case store.StatusCancelled:
		return "appointment cancelled"
	case store.StatusNoShow:
		return "appointment marked no-show"
	}
	return "appointment changed"
}
