package scheduler

import (
	"context"
	"errors"
	"slices"

	"github.com/beckonhealth/beckon"
)

// This file is the I/O around Decide: read what a round of changes needs
// (load), decide it, and hand its writes to the one store writer
// (beckon.Querier.Write), set-at-a-time.

// newState reads the clinic and its campaigns: what every decision needs.
func newState(ctx context.Context, q beckon.Querier, clinicID string) (*State, error) {
	// The clinic before its campaigns: a change between the two reads
	// leaves PlanRevision older than the campaigns, so a write that checks
	// it conflicts rather than stands on a revision it did not plan with.
	c, err := q.ClinicGet(ctx, clinicID)
	if errors.Is(err, beckon.ErrNotFound) {
		return nil, ErrUnknownClinic
	}
	if err != nil {
		return nil, err
	}
	cs, err := q.CampaignList(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	return &State{Clinic: c, Campaigns: cs, Patients: map[string]beckon.Patient{}}, nil
}

// load reads into st the stored rows changes name, in a few statements:
// their appointments and feed states (read afresh: an earlier round of the
// same transaction may have written them), their patients and the patients
// of their stored appointments (kept between rounds), and the feed settings
// a confirmation needs.
func load(ctx context.Context, q beckon.Querier, st *State, changes []Change) error {
	clinicID := st.Clinic.ID
	var ids, pids []string
	events, confirms := false, false
	addPatient := func(id string) {
		if _, ok := st.Patients[id]; !ok && id != "" && !slices.Contains(pids, id) {
			pids = append(pids, id)
		}
	}
	for _, c := range changes {
		switch {
		case c.Appointment != nil:
			ids = append(ids, c.Appointment.ID)
			addPatient(c.Appointment.PatientID)
		case c.Event != nil:
			events = true
			ids = append(ids, c.Event.Appointment.ID)
			addPatient(c.Event.Patient.ID)
			addPatient(c.Event.Appointment.PatientID)
		case c.Patient != nil:
			addPatient(c.Patient.ID)
		case c.Replan != nil:
			addPatient(c.Replan.PatientID)
		case c.Confirm != nil:
			confirms = true
			ids = append(ids, c.Confirm.Confirmation.AppointmentID)
		}
	}
	st.Appointments = map[string]beckon.Appointment{}
	st.FeedStates = map[string]beckon.FeedState{}
	var patients map[string]beckon.Patient
	if events && len(ids)+len(pids) <= maxReadIDs {
		read, err := q.FeedReadMany(ctx, clinicID, ids, pids)
		if err != nil {
			return err
		}
		st.Appointments, st.FeedStates, patients = read.Appointments, read.States, read.Patients
	} else {
		var err error
		if len(ids) > 0 {
			if st.Appointments, err = q.AppointmentGetMany(ctx, clinicID, ids); err != nil {
				return err
			}
		}
		if events {
			if st.FeedStates, err = q.FeedStateGetMany(ctx, clinicID, ids); err != nil {
				return err
			}
		}
		if len(pids) > 0 {
			if patients, err = q.PatientGetMany(ctx, clinicID, pids); err != nil {
				return err
			}
		}
	}
	for id, p := range patients {
		st.Patients[id] = p
	}
	// The patients of stored appointments the changes do not name (a
	// cancellation without PID, a confirmation).
	pids = pids[:0]
	for _, a := range st.Appointments {
		addPatient(a.PatientID)
	}
	if len(pids) > 0 {
		ps, err := q.PatientGetMany(ctx, clinicID, pids)
		if err != nil {
			return err
		}
		for id, p := range ps {
			st.Patients[id] = p
		}
	}
	if confirms {
		fs, err := q.FeedSettingsGet(ctx, clinicID)
		switch {
		case errors.Is(err, beckon.ErrNotFound):
			st.FeedSettings = nil
		case err != nil:
			return err
		default:
			st.FeedSettings = &fs
		}
	}
	return nil
}

// maxReadIDs is the most ids FeedReadMany reads in its one statement.
const maxReadIDs = 500

// decideRound loads what changes need and decides them; when a patient's
// time zone moved, their upcoming appointments are re-planned in the same
// decision.
func (s *Service) decideRound(ctx context.Context, q beckon.Querier, st *State, changes []Change, actor string) (*Decision, error) {
	if err := load(ctx, q, st, changes); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	d := Decide(st, now, actor, changes)
	if len(d.ZoneMoved) == 0 {
		return d, nil
	}
	var replans []Change
	listed := map[string]bool{}
	for _, pid := range d.ZoneMoved {
		as, err := q.AppointmentListUpcoming(ctx, beckon.AppointmentListParams{ClinicID: st.Clinic.ID, PatientID: pid, After: now})
		if err != nil {
			return nil, err
		}
		for i := range as {
			listed[as[i].ID] = true
			replans = append(replans, Change{Replan: &as[i]})
		}
	}
	// And theirs that this decision books and the store does not hold yet
	// (planned, earlier in the round, in the zone before).
	for _, id := range sortedKeys(st.Appointments) {
		a := st.Appointments[id]
		if !listed[id] && a.Start.After(now) && slices.Contains(d.ZoneMoved, a.PatientID) {
			replans = append(replans, Change{Replan: &a})
		}
	}
	d.Add(replans)
	for _, o := range d.Outcomes[len(changes):] {
		if o.Err != nil {
			return nil, o.Err
		}
	}
	d.Outcomes = d.Outcomes[:len(changes)] // the outcomes of the changes given
	return d, nil
}

// write hands a decision's writes to the store writer (nothing when there
// is nothing to write).
func write(ctx context.Context, q beckon.Querier, w beckon.Writes) error {
	if w.Empty() {
		return nil
	}
	return q.Write(ctx, w)
}

// apply decides changes of one clinic a round at a time and writes each
// round in q's transaction, all or nothing: the first change that fails is
// returned as an *ItemError and the transaction is to be rolled back.
// maxRound bounds a round's changes (0: only repeated appointments cut).
func (s *Service) apply(ctx context.Context, q beckon.Querier, clinicID string, changes []Change, actor string, maxRound int) ([]Outcome, error) {
	st, err := newState(ctx, q, clinicID)
	if err != nil {
		return nil, err
	}
	rounds := Rounds(changes, maxRound)
	var out []Outcome
	if len(rounds) > 1 {
		out = make([]Outcome, 0, len(changes))
	}
	for _, rg := range rounds {
		d, err := s.decideRound(ctx, q, st, changes[rg[0]:rg[1]], actor)
		if err != nil {
			return nil, err
		}
		if err := d.Err(rg[0]); err != nil {
			return nil, err
		}
		if err := write(ctx, q, d.Writes()); err != nil {
			return nil, err
		}
		// In the same transaction: the events exist if the changes do.
		if evs := confirmationEvents(clinicID, d.Outcomes); len(evs) > 0 {
			if err := q.EventAppend(ctx, evs...); err != nil {
				return nil, err
			}
		}
		if len(rounds) == 1 {
			return d.Outcomes, nil
		}
		out = append(out, d.Outcomes...)
	}
	return out, nil
}

// feedResult is what an event's Outcome says of it.
func (o Outcome) feedResult() FeedResult {
	return FeedResult{Result: o.Result, Outcome: o.Outcome, Appointment: o.Appointment}
}

// applyOne is applyTx of one change: an error about it is not an
// *ItemError (one change is not a batch).
func (s *Service) applyOne(ctx context.Context, clinicID string, c Change, actor string) (Outcome, error) {
	out, err := s.applyTx(ctx, clinicID, []Change{c}, actor, 0)
	if item, ok := errors.AsType[*ItemError](err); ok {
		return Outcome{}, item.Err
	}
	if err != nil {
		return Outcome{}, err
	}
	return out[0], nil
}

// applyTx is apply in a transaction of its own, run again when it lost a
// version race.
func (s *Service) applyTx(ctx context.Context, clinicID string, changes []Change, actor string, maxRound int) ([]Outcome, error) {
	var out []Outcome
	err := s.retryConflicts(ctx, func(q beckon.Querier) error {
		var err error
		out, err = s.apply(ctx, q, clinicID, changes, actor, maxRound)
		return err
	})
	return out, err
}
