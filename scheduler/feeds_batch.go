package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// FeedBatch is feed events of one clinic that arrived together (on several
// MLLP connections), to apply in one transaction, each on its own: an event
// that cannot be applied is left out and the others go through.
type FeedBatch struct {
	ClinicID string
	Events   []FeedEvent
	Actor    string
	// Check, when set, vets the clinic as the transaction reads it (the
	// events were mapped in its time zone, say): its error is returned and
	// nothing is applied.
	Check func(store.Clinic) error
	// Finish, when set, runs in the transaction after the events, with what
	// became of each: to write what must commit with them (the inbound
	// archive). Its error rolls everything back. It may run more than once
	// (a transaction that lost a version race is run again).
	Finish func(ctx context.Context, q store.Querier, out []FeedOutcome) error
}

// FeedOutcome is what became of one event of a batch: Err is why it was
// not applied (ErrUnknownPatient, ErrIncompleteEvent), else Result holds
// what ApplyEvent would have returned.
type FeedOutcome struct {
	Result FeedResult
	Err    error
}

// ApplyFeedBatch applies the events in order as ApplyEvent would apply each
// in its own transaction, in one transaction of a few set-at-a-time
// statements. An error is the whole batch's (a database failure): nothing
// was applied, and the caller may apply the events one by one to find the
// one at fault.
func (s *Service) ApplyFeedBatch(ctx context.Context, b FeedBatch) ([]FeedOutcome, error) {
	var out []FeedOutcome
	err := s.retryConflicts(ctx, func(q store.Querier) error {
		pc, err := s.planContext(ctx, q, b.ClinicID)
		if err != nil {
			return err
		}
		if b.Check != nil {
			if err := b.Check(pc.clinic); err != nil {
				return err
			}
		}
		out = make([]FeedOutcome, len(b.Events))
		// A round holds each appointment at most once: its writes are one row
		// per appointment, checked against the version read.
		for start := 0; start < len(b.Events); {
			end := start + 1
			seen := map[string]bool{b.Events[start].AppointmentID: true}
			for end < len(b.Events) && !seen[b.Events[end].AppointmentID] {
				seen[b.Events[end].AppointmentID] = true
				end++
			}
			if err := s.applyFeedRound(ctx, q, pc, b.Events[start:end], b.Actor, out[start:end]); err != nil {
				return err
			}
			start = end
		}
		if b.Finish != nil {
			return b.Finish(ctx, q, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// feedRound is what a round of events reads and will write.
type feedRound struct {
	clinicID string
	now      time.Time
	actor    string
	pc       *planContext

	states  map[string]store.FeedState   // by appointment, as read
	appts   map[string]store.Appointment // by appointment, as read
	changed map[string]bool              // patients to write
	tzMoved map[string]bool              // patients whose time zone changed: re-plan their upcoming appointments

	apptWrites []store.Appointment
	sends      []store.Send
	supersede  map[string][]string // reason → appointment ids
	keep       []string
	audits     []store.AuditEntry
	feedWrites []store.FeedState
}

// applyFeedRound applies events of distinct appointments: read what they
// touch in a few statements, decide each in memory as applyEvent does, and
// write the changes in a few more.
func (s *Service) applyFeedRound(ctx context.Context, q store.Querier, pc *planContext, evs []FeedEvent, actor string, out []FeedOutcome) error {
	r := &feedRound{
		clinicID: pc.clinic.ID, now: s.Clock.Now(), actor: actor, pc: pc,
		changed: map[string]bool{}, tzMoved: map[string]bool{},
		supersede: map[string][]string{},
	}
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.AppointmentID
	}
	var err error
	if r.states, err = q.FeedStateGetMany(ctx, r.clinicID, ids); err != nil {
		return err
	}
	if r.appts, err = q.AppointmentGetMany(ctx, r.clinicID, ids); err != nil {
		return err
	}
	var pids []string
	addPatient := func(id string) {
		if _, ok := pc.patients[id]; !ok && id != "" && !slices.Contains(pids, id) {
			pids = append(pids, id)
		}
	}
	for _, ev := range evs {
		addPatient(ev.Patient.ID)
		addPatient(ev.PatientID)
		addPatient(r.appts[ev.AppointmentID].PatientID)
	}
	if len(pids) > 0 {
		ps, err := q.PatientGetMany(ctx, r.clinicID, pids)
		if err != nil {
			return err
		}
		for id, p := range ps {
			pc.patients[id] = p
		}
	}
	for i, ev := range evs {
		out[i].Result, out[i].Err = r.apply(ev)
	}
	return s.writeFeedRound(ctx, q, r)
}

// apply decides one event as applyEvent does and records its writes; an
// event that fails records nothing.
func (r *feedRound) apply(ev FeedEvent) (FeedResult, error) {
	state, known := r.states[ev.AppointmentID]
	old, exists := r.appts[ev.AppointmentID]
	current := FeedResult{Appointment: old}
	if known {
		switch {
		case ev.Digest != "" && ev.Digest == state.Digest:
			current.Result = store.FeedDuplicate
			return current, nil
		case olderThan(ev, state):
			current.Result = store.FeedStale
			return current, nil
		case state.Tombstone && !exists && !ev.cancels() && notNewer(ev, state):
			current.Result = store.FeedStale
			return current, nil
		}
	}
	next := store.FeedState{
		ClinicID:      r.clinicID,
		AppointmentID: ev.AppointmentID,
		SourceAt:      ev.SourceAt,
		SourceVersion: cmp.Or(ev.SourceVersion, state.SourceVersion),
		Digest:        ev.Digest,
		EHRVersion:    cmp.Or(ev.EHRVersion, state.EHRVersion),
		UpdatedAt:     r.now,
	}
	if next.SourceAt.IsZero() {
		next.SourceAt = state.SourceAt
	}
	if !exists && ev.NotScheduled {
		next.Tombstone = state.Tombstone // a cancellation we hold still stands
		r.feedWrites = append(r.feedWrites, next)
		return FeedResult{Result: store.FeedUnchanged}, nil
	}
	if !exists && ev.cancels() && (ev.Partial || ev.Start.IsZero() || cmp.Or(ev.PatientID, ev.Patient.ID) == "") {
		next.Tombstone = true
		r.feedWrites = append(r.feedWrites, next)
		detail, _ := json.Marshal(map[string]any{"status": ev.Status})
		r.audits = append(r.audits, store.AuditEntry{
			ClinicID: r.clinicID, Actor: r.actor, Action: "appointment.tombstone",
			Entity: "appointment", EntityID: ev.AppointmentID, Detail: string(detail), At: r.now,
		})
		return FeedResult{Result: store.FeedTombstone}, nil
	}

	// What this event changes is kept aside until it is known to apply.
	var (
		patient      *store.Patient
		patientAudit *store.AuditEntry
		tzMoved      bool
	)
	patients := r.pc.patients
	if ev.Patient.ID != "" {
		p := ev.Patient
		p.ClinicID = r.clinicID
		stored, ok := patients[p.ID]
		if ok {
			p = mergePatient(stored, p)
		}
		saved, outcome := r.upsertPatient(stored, ok, p)
		if outcome != Unchanged {
			patient = &saved
			patientAudit = &store.AuditEntry{
				ClinicID: r.clinicID, Actor: r.actor, Action: "patient." + outcome,
				Entity: "patient", EntityID: saved.ID, At: r.now,
			}
			tzMoved = ok && stored.TimeZone != saved.TimeZone
		}
	}
	lookup := func(id string) (store.Patient, bool) {
		if patient != nil && patient.ID == id {
			return *patient, true
		}
		p, ok := patients[id]
		return p, ok
	}

	a := store.Appointment{
		ClinicID:  r.clinicID,
		ID:        ev.AppointmentID,
		PatientID: cmp.Or(ev.PatientID, ev.Patient.ID),
		Start:     ev.Start,
		Duration:  ev.Duration,
		Type:      ev.Type,
		Provider:  ev.Provider,
		Location:  ev.Location,
		Status:    cmp.Or(ev.Status, store.StatusBooked),
	}
	if exists {
		a.PatientID = cmp.Or(a.PatientID, old.PatientID)
		if a.Start.IsZero() {
			a.Start = old.Start
		}
		if a.Duration == 0 {
			a.Duration = old.Duration
		}
		if ev.Partial {
			a.Type = cmp.Or(a.Type, old.Type)
			a.Provider = cmp.Or(a.Provider, old.Provider)
			a.Location = cmp.Or(a.Location, old.Location)
		}
	}
	if a.PatientID == "" || a.Start.IsZero() {
		return FeedResult{}, ErrIncompleteEvent
	}
	if a.Duration == 0 {
		a.Duration = 30 * time.Minute
	}
	p, ok := lookup(a.PatientID)
	if !ok {
		return FeedResult{}, ErrUnknownPatient
	}
	var prev *store.Appointment
	if exists {
		prev = &old
	}
	saved, outcome := mergeAppointment(prev, a, r.now)

	// The event applies: record its writes.
	if patient != nil {
		patients[patient.ID] = *patient
		r.changed[patient.ID] = true
		r.audits = append(r.audits, *patientAudit)
		if tzMoved {
			r.tzMoved[patient.ID] = true
		}
	}
	if outcome != Unchanged {
		r.apptWrites = append(r.apptWrites, saved)
		plan := Plan(PlanInput{Clinic: r.pc.clinic, Patient: p, Appointment: saved, Campaigns: r.pc.campaigns, Now: r.now})
		r.sends = append(r.sends, plan...)
		for _, sd := range plan {
			r.keep = append(r.keep, sd.ID)
		}
		if saved.Version > 1 {
			reason := supersedeReason(saved)
			r.supersede[reason] = append(r.supersede[reason], saved.ID)
		}
		r.audits = append(r.audits, appointmentAudit(saved, outcome, r.actor, r.now))
	}
	r.feedWrites = append(r.feedWrites, next)
	result := store.FeedApplied
	if outcome == Unchanged {
		result = store.FeedUnchanged
	}
	return FeedResult{Result: result, Outcome: outcome, Appointment: saved}, nil
}

// upsertPatient decides p over the stored patient (ok: there is one) as
// Service.upsertPatient does, without writing.
func (r *feedRound) upsertPatient(old store.Patient, ok bool, p store.Patient) (store.Patient, string) {
	outcome := Created
	if !ok {
		p.CreatedAt = r.now
		p.SMSConsent = cmp.Or(p.SMSConsent, store.ConsentUnknown)
		p.EmailConsent = cmp.Or(p.EmailConsent, store.ConsentUnknown)
	} else {
		outcome = Updated
		p.CreatedAt = old.CreatedAt
		p.SMSConsent = cmp.Or(p.SMSConsent, old.SMSConsent)
		p.EmailConsent = cmp.Or(p.EmailConsent, old.EmailConsent)
		if samePatient(old, p) {
			return old, Unchanged
		}
	}
	p.UpdatedAt = r.now
	return p, outcome
}

// writeFeedRound writes what a round decided: patients, appointments and
// their sends, superseded sends, audit entries and feed states, a statement
// or two each.
func (s *Service) writeFeedRound(ctx context.Context, q store.Querier, r *feedRound) error {
	if len(r.changed) > 0 {
		ps := make([]store.Patient, 0, len(r.changed))
		for id := range r.changed {
			ps = append(ps, r.pc.patients[id])
		}
		slices.SortFunc(ps, func(a, b store.Patient) int { return cmp.Compare(a.ID, b.ID) })
		if err := q.PatientUpsertMany(ctx, ps); err != nil {
			return err
		}
	}
	// Rows in id order: concurrent transactions lock them in one order.
	byID := func(a, b store.Appointment) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(r.apptWrites, byID)
	slices.SortFunc(r.feedWrites, func(a, b store.FeedState) int { return cmp.Compare(a.AppointmentID, b.AppointmentID) })
	if len(r.apptWrites) > 0 {
		expect := make([]int64, len(r.apptWrites))
		for i, a := range r.apptWrites {
			expect[i] = a.Version - 1
		}
		if err := q.AppointmentPutMany(ctx, r.apptWrites, expect); err != nil {
			return err
		}
		if err := q.SendInsert(ctx, r.sends); err != nil {
			return err
		}
		for _, reason := range sortedKeys(r.supersede) {
			if _, err := q.SendSupersedeMany(ctx, store.SendSupersedeManyParams{
				ClinicID:       r.clinicID,
				AppointmentIDs: r.supersede[reason],
				Keep:           r.keep,
				Reason:         reason,
				Now:            r.now,
			}); err != nil {
				return err
			}
		}
	}
	if len(r.audits) > 0 {
		if err := q.AuditAppendMany(ctx, r.audits); err != nil {
			return err
		}
	}
	if len(r.feedWrites) > 0 {
		if err := q.FeedStatePutMany(ctx, r.feedWrites); err != nil {
			return err
		}
	}
	for _, id := range sortedKeys(r.tzMoved) {
		// As UpsertPatient does: the patient's other appointments follow
		// the new time zone.
		if err := s.replanUpcoming(ctx, q, r.clinicID, id); err != nil {
			return err
		}
	}
	s.logger().Debug("feed events applied",
		"clinic_id", r.clinicID,
		"appointments", len(r.apptWrites),
		"sends", len(r.sends))
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
