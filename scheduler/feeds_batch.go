package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
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
	// Check, when set, vets the clinic (the events were mapped in its time
	// zone, say): its error is returned and nothing is applied. It may see a
	// cached copy of the clinic that the writes then check is current.
	Check func(store.Clinic) error
	// Plans, when set, keeps the clinic and its campaigns between batches;
	// the writes check they are still the stored ones (and the batch is run
	// again with them read afresh if not).
	Plans *PlanCache
	// Archive, when set, is told what became of each event before anything
	// is written, and returns the inbound messages to archive in the same
	// transaction. It may run more than once (a transaction that lost a
	// version race is run again).
	Archive func(out []FeedOutcome) []store.InboundMessage
}

// FeedOutcome is what became of one event of a batch: Err is why it was
// not applied (ErrUnknownPatient, ErrIncompleteEvent), else Result holds
// what ApplyEvent would have returned.
type FeedOutcome struct {
	Result FeedResult
	Err    error
}

// ApplyFeedBatch applies the events in order as ApplyEvent would apply each
// in its own transaction, all of them together with a few set-at-a-time
// statements. An error is the whole batch's (a database failure): nothing
// was applied, and the caller may apply the events one by one to find the
// one at fault.
//
// On PostgreSQL, a batch whose writes fit one statement (each appointment
// once, no patient's time zone moved) runs without an explicit
// transaction: its reads see what was committed when each ran, as they
// would in a READ COMMITTED transaction, and its one write statement
// commits all or nothing, checking the appointments' versions (and the
// cached clinic and campaigns) as it goes. That saves the BEGIN and COMMIT
// round trips of every batch.
func (s *Service) ApplyFeedBatch(ctx context.Context, b FeedBatch) ([]FeedOutcome, error) {
	rounds := feedRounds(b.Events)
	var out []FeedOutcome
	apply := func(q store.Querier, oneStatement bool) error {
		var pc *planContext // read with the first round
		out = make([]FeedOutcome, len(b.Events))
		for _, rg := range rounds {
			start, end := rg[0], rg[1]
			r, err := s.decideFeedRound(ctx, q, &pc, b, b.Events[start:end], out[start:end])
			if err != nil {
				return err
			}
			if oneStatement && len(r.tzMoved) > 0 {
				return errNeedsTx
			}
			if end == len(b.Events) && b.Archive != nil {
				r.inbound = b.Archive(out) // every event is decided now
			}
			if err := s.writeFeedRound(ctx, q, r); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if s.Store.Dialect() == store.DialectPostgres && len(rounds) == 1 {
		for range maxConflictRetries {
			if err = apply(s.Store, true); !errors.Is(err, store.ErrConflict) {
				break
			}
		}
		if errors.Is(err, errNeedsTx) {
			err = s.retryConflicts(ctx, func(q store.Querier) error { return apply(q, false) })
		}
	} else {
		err = s.retryConflicts(ctx, func(q store.Querier) error { return apply(q, false) })
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errNeedsTx: a batch's writes do not fit one statement.
var errNeedsTx = errors.New("the batch needs a transaction")

// feedRounds cuts events into rounds, [start, end) each, that hold an
// appointment at most once (its writes are one row per appointment, checked
// against the version read) and at most maxFeedRound events.
func feedRounds(evs []FeedEvent) [][2]int {
	var out [][2]int
	for start := 0; start < len(evs); {
		end := start + 1
		seen := map[string]bool{evs[start].AppointmentID: true}
		for end < len(evs) && end-start < maxFeedRound && !seen[evs[end].AppointmentID] {
			seen[evs[end].AppointmentID] = true
			end++
		}
		out = append(out, [2]int{start, end})
		start = end
	}
	return out
}

// feedRound is what a round of events reads and will write.
type feedRound struct {
	clinicID string
	now      time.Time
	actor    string
	pc       *planContext
	verify   bool       // pc is a cached copy: the writes check it
	plans    *PlanCache // where it came from

	states  map[string]store.FeedState   // by appointment, as read
	appts   map[string]store.Appointment // by appointment, as read
	changed map[string]bool              // patients to write
	tzMoved map[string]bool              // patients whose time zone changed: re-plan their upcoming appointments

	apptWrites []store.Appointment
	sends      []store.Send
	supersede  map[string][]string // reason → appointment ids
	audits     []store.AuditEntry
	feedWrites []store.FeedState
	inbound    []store.InboundMessage
}

// maxFeedRound bounds the events of a round (its read names at most
// three ids per event).
const maxFeedRound = 150

// decideFeedRound reads what events of distinct appointments touch, in a
// few statements (the clinic and its campaigns with the first round), and
// decides each in memory as applyEvent does.
func (s *Service) decideFeedRound(ctx context.Context, q store.Querier, pcp **planContext, b FeedBatch, evs []FeedEvent, out []FeedOutcome) (*feedRound, error) {
	verify := false
	if *pcp == nil {
		pc, cached := b.Plans.get(b.ClinicID)
		if cached && b.Check != nil && b.Check(pc.clinic) != nil {
			cached = false // the copy may be stale: check the stored clinic
		}
		if !cached {
			var err error
			if pc, err = s.planContext(ctx, q, b.ClinicID); err != nil {
				return nil, err
			}
			b.Plans.put(pc)
		}
		verify = cached
		if b.Check != nil {
			if err := b.Check(pc.clinic); err != nil {
				return nil, err
			}
		}
		*pcp = pc
	}
	pc := *pcp
	ids := make([]string, len(evs))
	var pids []string
	addPatient := func(id string) {
		if _, ok := pc.patients[id]; !ok && id != "" && !slices.Contains(pids, id) {
			pids = append(pids, id)
		}
	}
	for i, ev := range evs {
		ids[i] = ev.AppointmentID
		addPatient(ev.Patient.ID)
		addPatient(ev.PatientID)
	}
	read, err := q.FeedReadMany(ctx, pc.clinic.ID, ids, pids)
	if err != nil {
		return nil, err
	}
	states, appts := read.States, read.Appointments
	for id, p := range read.Patients {
		pc.patients[id] = p
	}
	// The patients of stored appointments the events do not name (a
	// cancellation without PID, say).
	pids = pids[:0]
	for _, a := range appts {
		if _, ok := pc.patients[a.PatientID]; !ok && !slices.Contains(pids, a.PatientID) {
			pids = append(pids, a.PatientID)
		}
	}
	if len(pids) > 0 {
		ps, err := q.PatientGetMany(ctx, pc.clinic.ID, pids)
		if err != nil {
			return nil, err
		}
		for id, p := range ps {
			pc.patients[id] = p
		}
	}
	r := &feedRound{
		verify: verify, plans: b.Plans,
		clinicID: pc.clinic.ID, now: s.Clock.Now(), actor: b.Actor, pc: pc,
		states: states, appts: appts,
		changed: map[string]bool{}, tzMoved: map[string]bool{},
		supersede: map[string][]string{},
	}
	for i, ev := range evs {
		out[i].Result, out[i].Err = r.apply(ev)
	}
	return r, nil
}

// apply decides one event as applyEvent does and records its writes; an
// event that fails records nothing.
func (r *feedRound) apply(ev FeedEvent) (FeedResult, error) {
	state, known := r.states[ev.AppointmentID]
	old, exists := r.appts[ev.AppointmentID]
	if result := passOver(ev, state, known, exists); result != "" {
		return FeedResult{Appointment: old, Result: result}, nil
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

	a, err := feedAppointment(r.clinicID, ev, old, exists)
	if err != nil {
		return FeedResult{}, err
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
// their sends, the changed appointments' superseded sends, audit entries,
// feed states and the archive, in one statement on PostgreSQL
// (store.FeedWrite); then re-plans the patients whose time zone moved.
func (s *Service) writeFeedRound(ctx context.Context, q store.Querier, r *feedRound) error {
	ps := make([]store.Patient, 0, len(r.changed))
	for _, id := range sortedKeys(r.changed) {
		ps = append(ps, r.pc.patients[id])
	}
	// Rows in id order: concurrent transactions lock them in one order.
	slices.SortFunc(r.apptWrites, func(a, b store.Appointment) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(r.feedWrites, func(a, b store.FeedState) int { return cmp.Compare(a.AppointmentID, b.AppointmentID) })
	w := store.FeedWrites{
		ClinicID:     r.clinicID,
		Patients:     ps,
		Appointments: r.apptWrites,
		Sends:        r.sends,
		Audits:       r.audits,
		FeedStates:   r.feedWrites,
		Inbound:      r.inbound,
		Now:          r.now,
	}
	for _, reason := range sortedKeys(r.supersede) {
		w.Supersede = append(w.Supersede, store.FeedSupersede{AppointmentIDs: r.supersede[reason], Reason: reason})
	}
	if r.verify {
		w.Verify = &store.FeedPlan{Clinic: r.pc.clinic, Campaigns: r.pc.campaigns}
	}
	if err := q.FeedWrite(ctx, w); err != nil {
		if errors.Is(err, store.ErrConflict) {
			r.plans.forget(r.clinicID) // run again with them read afresh
		}
		return err
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

// PlanCache keeps clinics and their campaigns between feed batches: every
// batch needs them and they rarely change. A batch planned with a cached
// copy has its writes check that copy against the store (in the same
// statement on PostgreSQL) and runs again, reading them afresh, if it is
// stale. The zero value is ready to use; a nil cache keeps nothing.
type PlanCache struct {
	mu sync.Mutex
	m  map[string]planSnapshot // by clinic
}

type planSnapshot struct {
	clinic    store.Clinic
	campaigns []store.Campaign // shared: never modified
}

// maxCachedPlans bounds the cache; past it, it starts over.
const maxCachedPlans = 10_000

func (c *PlanCache) get(clinicID string) (*planContext, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	p, ok := c.m[clinicID]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return &planContext{clinic: p.clinic, campaigns: p.campaigns, patients: map[string]store.Patient{}}, true
}

func (c *PlanCache) put(pc *planContext) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPlans {
		c.m = map[string]planSnapshot{}
	}
	c.m[pc.clinic.ID] = planSnapshot{clinic: pc.clinic, campaigns: pc.campaigns}
	c.mu.Unlock()
}

func (c *PlanCache) forget(clinicID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, clinicID)
	c.mu.Unlock()
}
