package scheduler

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
)

// Change is one change to decide; exactly one of Appointment, Event,
// Patient, Replan and Confirm is set. Every entrance (REST single and
// batch, FHIR, HL7 single and group commit, re-planning after a campaign or
// time-zone change, confirmations) says what happened as Changes and hands
// them to Decide.
type Change struct {
	// Appointment is a REST upsert: the appointment as the clinic sends it;
	// an empty Confirmation keeps the stored one.
	Appointment *beckon.Appointment
	// Event is what an EHR feed (HL7 v2, FHIR) says happened.
	Event *FeedEvent
	// Patient is a patient to create or replace; empty consent fields keep
	// the stored consent. With MergePatient, its empty fields keep what is
	// stored too (a feed never erases a phone it did not send).
	Patient      *beckon.Patient
	MergePatient bool
	// IfNoneExist makes a Patient or an Event a conditional create (FHIR
	// ifNoneExist): when it exists, it is left as it is (Unchanged).
	IfNoneExist bool
	// Replan is a stored appointment to plan again (a campaign or its
	// patient's time zone changed); the decision's own copy wins when it
	// holds the appointment.
	Replan *beckon.Appointment
	// Confirm is a patient's answer about an appointment.
	Confirm *ConfirmChange
}

// ConfirmChange is a confirmation to record. Its ID and WritebackID are
// chosen by the caller (Decide draws nothing at random).
type ConfirmChange struct {
	Confirmation beckon.Confirmation
	WritebackID  string
}

// State is what Decide reads: the clinic and its campaigns, and the stored
// rows the changes name. Decide updates it as changes apply, so a later
// change sees what an earlier one did.
type State struct {
	Clinic       beckon.Clinic
	Campaigns    []beckon.Campaign
	Appointments map[string]beckon.Appointment // by id
	Patients     map[string]beckon.Patient     // by id
	FeedStates   map[string]beckon.FeedState   // by appointment id
	// FeedSettings are the clinic's (nil when never set); a confirmation
	// needs them to know whether to write back.
	FeedSettings *beckon.FeedSettings
}

// Outcome is what one change did. Err (with Field, the input field at
// fault, when known) is why it was not applied: nothing of it is written.
type Outcome struct {
	Outcome     string // Created, Updated, Unchanged
	Appointment beckon.Appointment
	Result      string          // of an Event: beckon.FeedApplied, FeedUnchanged, FeedDuplicate, FeedStale or FeedTombstone
	Patient     *beckon.Patient // of a Patient change
	Confirmed   *ConfirmResult  // of a Confirm
	Err         error
	Field       string
}

// Decision is what a batch of changes does to the stored state: each
// change's Outcome and the writes that make it so. It is the only code that
// plans sends (calls Plan), decides which are superseded, merges patients
// and merges appointments.
type Decision struct {
	Outcomes []Outcome
	// ZoneMoved are patients whose time zone changed: their upcoming
	// appointments are to be re-planned (Add Replan changes for them).
	ZoneMoved []string

	st    *State
	now   time.Time
	actor string

	patients   map[string]bool             // changed patients
	appts      map[string]bool             // changed appointments
	plans      map[string][]beckon.Send    // by appointment: its latest plan
	superseded map[string][]beckon.Send    // intermediate plans, inserted superseded
	supersede  map[string]string           // appointment id → reason
	feeds      map[string]beckon.FeedState // by appointment
	w          beckon.Writes
}

// Decide decides changes in order against st at now (no I/O, no clock:
// the same input gives the same decision). Each appointment appears at most
// once among the changes of one call (Rounds cuts a batch so), as its
// write checks the version read.
func Decide(st *State, now time.Time, actor string, changes []Change) *Decision {
	if st.Appointments == nil {
		st.Appointments = map[string]beckon.Appointment{}
	}
	if st.Patients == nil {
		st.Patients = map[string]beckon.Patient{}
	}
	if st.FeedStates == nil {
		st.FeedStates = map[string]beckon.FeedState{}
	}
	n := len(changes) // most changes touch one appointment: room for them
	d := &Decision{
		st: st, now: now, actor: actor,
		patients: map[string]bool{}, appts: make(map[string]bool, n),
		plans: make(map[string][]beckon.Send, n), superseded: map[string][]beckon.Send{},
		supersede: map[string]string{}, feeds: map[string]beckon.FeedState{},
	}
	d.w.ClinicID, d.w.Now = st.Clinic.ID, now
	d.Outcomes = make([]Outcome, 0, len(changes))
	d.Add(changes)
	return d
}

// Add decides more changes after those decided so far (appending to
// Outcomes), seeing what they did.
func (d *Decision) Add(changes []Change) {
	for _, c := range changes {
		var o Outcome
		switch {
		case c.Appointment != nil:
			o = d.upsert(*c.Appointment)
		case c.Event != nil:
			o = d.event(*c.Event, c.IfNoneExist)
		case c.Patient != nil:
			o = d.patient(*c.Patient, c.MergePatient, c.IfNoneExist)
		case c.Replan != nil:
			o = d.replan(*c.Replan)
		case c.Confirm != nil:
			o = d.confirm(*c.Confirm)
		default:
			o.Err = errEmptyChange
		}
		d.Outcomes = append(d.Outcomes, o)
	}
}

var errEmptyChange = errors.New("a change with nothing in it")

// Err is the first change that failed, as an *ItemError whose Index is
// offset by base; nil when none did.
func (d *Decision) Err(base int) error {
	for i, o := range d.Outcomes {
		if o.Err != nil {
			return &ItemError{Index: base + i, Field: o.Field, Err: o.Err}
		}
	}
	return nil
}

// Writes is what the decision writes, rows in id order (concurrent
// transactions lock them in one order).
func (d *Decision) Writes() beckon.Writes {
	w := d.w
	w.Patients = make([]beckon.Patient, 0, len(d.patients))
	for _, id := range sortedKeys(d.patients) {
		w.Patients = append(w.Patients, d.st.Patients[id])
	}
	w.Appointments = make([]beckon.Appointment, 0, len(d.appts))
	for _, id := range sortedKeys(d.appts) {
		w.Appointments = append(w.Appointments, d.st.Appointments[id])
	}
	n := 0
	for _, sends := range d.plans {
		n += len(sends)
	}
	for _, sends := range d.superseded {
		n += len(sends)
	}
	w.Sends = make([]beckon.Send, 0, n)
	for _, id := range sortedKeys(d.plans) {
		w.Sends = append(w.Sends, d.plans[id]...)
	}
	for _, id := range sortedKeys(d.superseded) {
		w.Sends = append(w.Sends, d.superseded[id]...)
	}
	byReason := map[string][]string{}
	for _, id := range sortedKeys(d.supersede) {
		r := d.supersede[id]
		byReason[r] = append(byReason[r], id)
	}
	for _, r := range sortedKeys(byReason) {
		w.Supersede = append(w.Supersede, beckon.SupersedeSet{AppointmentIDs: byReason[r], Reason: r})
	}
	for _, id := range sortedKeys(d.feeds) {
		w.FeedStates = append(w.FeedStates, d.feeds[id])
	}
	return w
}

// upsert is a REST upsert of one appointment.
func (d *Decision) upsert(a beckon.Appointment) Outcome {
	a.ClinicID = d.st.Clinic.ID
	p, ok := d.st.Patients[a.PatientID]
	if !ok {
		return Outcome{Err: ErrUnknownPatient, Field: "patient_id"}
	}
	saved, outcome := d.mergeAppointment(a)
	d.recordAppointment(saved, outcome, p)
	return Outcome{Outcome: outcome, Appointment: saved}
}

// mergeAppointment applies a onto the appointment as the decision holds it.
func (d *Decision) mergeAppointment(a beckon.Appointment) (beckon.Appointment, string) {
	var prev *beckon.Appointment
	if old, ok := d.st.Appointments[a.ID]; ok {
		prev = &old
	}
	return mergeAppointment(prev, a, d.now)
}

// recordAppointment writes a changed appointment (Unchanged: nothing), plans
// it for patient p and supersedes the sends of its older versions.
func (d *Decision) recordAppointment(a beckon.Appointment, outcome string, p beckon.Patient) {
	if outcome == Unchanged {
		return
	}
	d.st.Appointments[a.ID] = a
	d.appts[a.ID] = true
	if a.Version > 1 {
		d.supersede[a.ID] = supersedeReason(a)
	}
	d.plan(a, p)
	d.w.Audits = append(d.w.Audits, appointmentAudit(a, outcome, d.actor, d.now))
}

// plan records the plan of a's current version, superseding what this
// decision planned for an older version of it.
func (d *Decision) plan(a beckon.Appointment, p beckon.Patient) {
	sends := Plan(PlanInput{Clinic: d.st.Clinic, Patient: p, Appointment: a, Campaigns: d.st.Campaigns, Now: d.now})
	if old := d.plans[a.ID]; len(old) > 0 && old[0].AppointmentVersion != a.Version {
		// Planned within this decision for a version it replaced: it was
		// never stored, so it is inserted superseded.
		for _, sd := range old {
			sd.Status, sd.Reason, sd.UpdatedAt = beckon.SendSuperseded, supersedeReason(a), d.now
			d.superseded[a.ID] = append(d.superseded[a.ID], sd)
		}
	}
	d.plans[a.ID] = sends
}

// replan plans a stored appointment again and supersedes its planned sends
// the new plan does not keep.
func (d *Decision) replan(a beckon.Appointment) Outcome {
	if cur, ok := d.st.Appointments[a.ID]; ok && cur.Version >= a.Version {
		a = cur
	}
	p, ok := d.st.Patients[a.PatientID]
	if !ok {
		return Outcome{Err: ErrUnknownPatient, Field: "patient_id"}
	}
	d.plan(a, p)
	d.supersede[a.ID] = supersedeReason(a)
	return Outcome{Outcome: Unchanged, Appointment: a}
}

// decidePatient is p over the stored patient, without recording it; merge
// overlays only what p sends.
func (d *Decision) decidePatient(p beckon.Patient, merge bool) (saved beckon.Patient, outcome string, tzMoved bool) {
	p.ClinicID = d.st.Clinic.ID
	old, ok := d.st.Patients[p.ID]
	if !ok {
		p.CreatedAt, p.UpdatedAt = d.now, d.now
		p.SMSConsent = cmp.Or(p.SMSConsent, beckon.ConsentUnknown)
		p.EmailConsent = cmp.Or(p.EmailConsent, beckon.ConsentUnknown)
		return p, Created, false
	}
	if merge {
		p = mergePatient(old, p)
	}
	p.CreatedAt = old.CreatedAt
	p.SMSConsent = cmp.Or(p.SMSConsent, old.SMSConsent)
	p.EmailConsent = cmp.Or(p.EmailConsent, old.EmailConsent)
	if samePatient(old, p) {
		return old, Unchanged, false
	}
	p.UpdatedAt = d.now
	return p, Updated, old.TimeZone != p.TimeZone
}

// recordPatient writes a decided patient.
func (d *Decision) recordPatient(p beckon.Patient, outcome string, tzMoved bool) {
	if outcome == Unchanged {
		return
	}
	d.st.Patients[p.ID] = p
	d.patients[p.ID] = true
	d.w.Audits = append(d.w.Audits, beckon.AuditEntry{
		ClinicID: p.ClinicID, Actor: d.actor, Action: "patient." + outcome,
		Entity: "patient", EntityID: p.ID, At: d.now,
	})
	if tzMoved && !slices.Contains(d.ZoneMoved, p.ID) {
		d.ZoneMoved = append(d.ZoneMoved, p.ID)
	}
}

// patient is a patient upsert.
func (d *Decision) patient(p beckon.Patient, merge, ifNoneExist bool) Outcome {
	if old, ok := d.st.Patients[p.ID]; ok && ifNoneExist {
		return Outcome{Outcome: Unchanged, Patient: &old}
	}
	saved, outcome, moved := d.decidePatient(p, merge)
	d.recordPatient(saved, outcome, moved)
	return Outcome{Outcome: outcome, Patient: &saved}
}

// event decides a feed event: ordering, duplicates and tombstones (see
// ApplyEvent), the patient it carries, then the appointment. An event that
// fails records nothing.
func (d *Decision) event(ev FeedEvent, ifNoneExist bool) Outcome {
	clinicID := d.st.Clinic.ID
	old, exists := d.st.Appointments[ev.Appointment.ID]
	if ifNoneExist && exists {
		return Outcome{Outcome: Unchanged, Appointment: old, Result: beckon.FeedUnchanged}
	}
	state, known := d.st.FeedStates[ev.Appointment.ID]
	if result := passOver(ev, state, known, exists); result != "" {
		return Outcome{Appointment: old, Result: result}
	}
	next := beckon.FeedState{
		ClinicID:      clinicID,
		AppointmentID: ev.Appointment.ID,
		SourceAt:      ev.SourceAt,
		SourceVersion: cmp.Or(ev.SourceVersion, state.SourceVersion),
		Digest:        ev.Digest,
		EHRVersion:    cmp.Or(ev.EHRVersion, state.EHRVersion),
		UpdatedAt:     d.now,
	}
	if next.SourceAt.IsZero() {
		next.SourceAt = state.SourceAt
	}
	if !exists && ev.NotScheduled {
		// Nothing to stop, nothing to remember but the ordering key.
		next.Tombstone = state.Tombstone // a cancellation we hold still stands
		d.putFeedState(next)
		return Outcome{Result: beckon.FeedUnchanged}
	}
	if !exists && ev.cancels() && (ev.Partial || ev.Appointment.Start.IsZero() || cmp.Or(ev.Appointment.PatientID, ev.Patient.ID) == "") {
		next.Tombstone = true
		d.putFeedState(next)
		detail, _ := json.Marshal(map[string]any{"status": ev.Appointment.Status})
		d.w.Audits = append(d.w.Audits, beckon.AuditEntry{
			ClinicID: clinicID, Actor: d.actor, Action: "appointment.tombstone",
			Entity: "appointment", EntityID: ev.Appointment.ID, Detail: string(detail), At: d.now,
		})
		return Outcome{Result: beckon.FeedTombstone}
	}

	// The patient it carries is kept aside until the event is known to apply.
	var (
		patient        beckon.Patient
		patientOutcome = Unchanged
		tzMoved        bool
	)
	if ev.Patient.ID != "" {
		patient, patientOutcome, tzMoved = d.decidePatient(ev.Patient, true)
	}
	a, err := feedAppointment(clinicID, ev, old, exists)
	if err != nil {
		return Outcome{Err: err}
	}
	p, ok := d.st.Patients[a.PatientID]
	if patientOutcome != Unchanged && patient.ID == a.PatientID {
		p, ok = patient, true
	}
	if !ok {
		return Outcome{Err: ErrUnknownPatient, Field: "patient_id"}
	}
	saved, outcome := d.mergeAppointment(a)

	d.recordPatient(patient, patientOutcome, tzMoved)
	d.recordAppointment(saved, outcome, p)
	d.putFeedState(next)
	result := beckon.FeedApplied
	if outcome == Unchanged {
		result = beckon.FeedUnchanged
	}
	return Outcome{Outcome: outcome, Appointment: saved, Result: result}
}

func (d *Decision) putFeedState(s beckon.FeedState) {
	d.st.FeedStates[s.AppointmentID] = s
	d.feeds[s.AppointmentID] = s
}

// confirm records a patient's answer: the appointment's confirmation (steps
// only for unconfirmed patients stop), the confirmation with its
// provenance, and a pending write-back when the clinic writes back to its
// EHR.
func (d *Decision) confirm(cc ConfirmChange) Outcome {
	c := cc.Confirmation
	a, ok := d.st.Appointments[c.AppointmentID]
	if !ok {
		return Outcome{Err: beckon.ErrNotFound, Field: "appointment_id"}
	}
	p, ok := d.st.Patients[a.PatientID]
	if !ok {
		return Outcome{Err: ErrUnknownPatient, Field: "patient_id"}
	}
	a.Confirmation = c.Response
	saved, outcome := d.mergeAppointment(a)
	d.recordAppointment(saved, outcome, p)
	c.AppointmentVersion, c.At = saved.Version, d.now
	d.w.Confirmations = append(d.w.Confirmations, c)
	o := Outcome{Outcome: outcome, Appointment: saved, Confirmed: &ConfirmResult{Appointment: saved, Confirmation: c}}
	fs := d.st.FeedSettings
	if fs == nil || !fs.Writeback {
		return o
	}
	kind := ""
	switch {
	case fs.FHIRBaseURL != "":
		kind = beckon.WritebackFHIR
	case fs.WebhookURL != "":
		kind = beckon.WritebackWebhook
	default:
		return o
	}
	wb := beckon.Writeback{
		ID:             cc.WritebackID,
		ClinicID:       c.ClinicID,
		AppointmentID:  c.AppointmentID,
		ConfirmationID: c.ID,
		Kind:           kind,
		Status:         beckon.WritebackPending,
		CreatedAt:      d.now,
		UpdatedAt:      d.now,
	}
	d.w.Writebacks = append(d.w.Writebacks, wb)
	o.Confirmed.Writebacks = []beckon.Writeback{wb}
	return o
}

// mergeAppointment applies an upsert of a onto the stored appointment (nil if
// there is none): versions, creation time, and a confirmation left empty keeps
// the stored one. An Unchanged outcome returns the stored appointment.
func mergeAppointment(old *beckon.Appointment, a beckon.Appointment, now time.Time) (beckon.Appointment, string) {
	a.Start = a.Start.UTC()
	if old == nil {
		if a.Confirmation == "" {
			a.Confirmation = beckon.Unconfirmed
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

func sameAppointment(a, b beckon.Appointment) bool {
	return a.PatientID == b.PatientID && a.Start.Equal(b.Start) && a.Duration == b.Duration &&
		a.Type == b.Type && a.Provider == b.Provider && a.Location == b.Location &&
		a.ProviderName == b.ProviderName && a.LocationName == b.LocationName && a.Notes == b.Notes &&
		a.Status == b.Status && a.Confirmation == b.Confirmation
}

func samePatient(a, b beckon.Patient) bool {
	a.CreatedAt, a.UpdatedAt = time.Time{}, time.Time{}
	b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

// mergePatient overlays what a feed sent on what is stored.
func mergePatient(stored, sent beckon.Patient) beckon.Patient {
	p := stored
	p.FirstName = cmp.Or(sent.FirstName, p.FirstName)
	p.LastName = cmp.Or(sent.LastName, p.LastName)
	p.Phone = cmp.Or(sent.Phone, p.Phone)
	p.Email = cmp.Or(sent.Email, p.Email)
	p.Language = cmp.Or(sent.Language, p.Language)
	p.TimeZone = cmp.Or(sent.TimeZone, p.TimeZone)
	p.PreferredChannel = cmp.Or(sent.PreferredChannel, p.PreferredChannel)
	p.SMSConsent, p.EmailConsent = "", ""
	return p
}

// appointmentAudit is the audit entry of an appointment change (ids only).
func appointmentAudit(a beckon.Appointment, outcome, actor string, now time.Time) beckon.AuditEntry {
	// A struct, not a map: the same JSON (keys in this order, as a map's
	// are sorted) without reflecting over a map for every appointment.
	detail, _ := json.Marshal(struct {
		Start   time.Time                `json:"start"`
		Status  beckon.AppointmentStatus `json:"status"`
		Version int64                    `json:"version"`
	}{a.Start, a.Status, a.Version})
	return beckon.AuditEntry{
		ClinicID:  a.ClinicID,
		Actor:     actor,
		Action:    "appointment." + outcome,
		Entity:    "appointment",
		EntityID:  a.ID,
		PatientID: a.PatientID,
		Detail:    string(detail),
		At:        now,
	}
}

// supersedeReason says why an appointment's older sends no longer hold.
func supersedeReason(a beckon.Appointment) string {
	switch a.Status {
	case beckon.StatusCancelled:
		return "appointment cancelled"
	case beckon.StatusNoShow:
		return "appointment marked no-show"
	}
	return "appointment changed"
}

// appointmentID is the appointment a change names ("" for a patient).
func (c Change) appointmentID() string {
	switch {
	case c.Appointment != nil:
		return c.Appointment.ID
	case c.Event != nil:
		return c.Event.Appointment.ID
	case c.Replan != nil:
		return c.Replan.ID
	case c.Confirm != nil:
		return c.Confirm.Confirmation.AppointmentID
	}
	return ""
}

// Rounds cuts changes into rounds, [start, end) each, that name an
// appointment at most once (its write checks the version read) and hold at
// most max changes (0: no bound).
func Rounds(changes []Change, max int) [][2]int {
	var out [][2]int
	for start := 0; start < len(changes); {
		end := start + 1
		seen := map[string]bool{changes[start].appointmentID(): true}
		for end < len(changes) && (max <= 0 || end-start < max) {
			id := changes[end].appointmentID()
			if id != "" && seen[id] {
				break
			}
			seen[id] = true
			end++
		}
		out = append(out, [2]int{start, end})
		start = end
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
