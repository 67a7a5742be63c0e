package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
)

// ErrIncompleteEvent: a feed event for an appointment Beckon does not know
// lacks what a booking needs (a patient or a start).
var ErrIncompleteEvent = errors.New("event lacks the patient or start a new appointment needs")

// FeedEvent is what an EHR feed (HL7 v2 SIU, FHIR R4) says happened to one
// appointment, in Beckon's terms.
type FeedEvent struct {
	// Appointment is the appointment as the source describes it: its ID,
	// PatientID (default Patient.ID), Start, Duration, Type, Provider and
	// Location (ids and names), Notes and Status (default booked). Fields
	// it leaves empty keep what is stored (feedAppointment); the rest
	// (clinic, version, confirmation, times) are Beckon's and ignored.
	Appointment beckon.Appointment
	// Patient, when its ID is set, is created or updated first; its empty
	// fields keep what is stored (a feed never erases a phone it did not send).
	Patient beckon.Patient
	// Partial: only Status is news (an HL7 cancellation or no-show); the
	// other fields keep what is stored when empty.
	Partial bool
	// NotScheduled: the source says the appointment is not (or no longer)
	// booked without cancelling it (FHIR proposed, pending, waitlist). It
	// stops a known appointment's reminders like a cancellation, but for an
	// unknown appointment it changes nothing and leaves no tombstone: a
	// later booking must go through.
	NotScheduled bool
	// SourceAt and SourceVersion order events of one appointment: HL7 MSH-7,
	// FHIR meta.lastUpdated and meta.versionId. Zero when not sent.
	SourceAt      time.Time
	SourceVersion int64
	// EHRVersion is the FHIR versionId as sent, kept for If-Match on write-back.
	EHRVersion string
	// Digest identifies the message (hex sha256 of its raw bytes): the same
	// message applied twice changes nothing the second time.
	Digest string
}

// cancels reports whether the event ends the appointment: a cancellation
// (FHIR cancelled, entered-in-error; HL7 S15, S17) or a no-show, not a
// status that is merely not scheduled.
func (ev FeedEvent) cancels() bool {
	return !ev.NotScheduled && ev.Appointment.Status.Ended()
}

// FeedResult is what ApplyEvent did.
type FeedResult struct {
	// Result is beckon.FeedApplied, FeedUnchanged, FeedDuplicate, FeedStale or
	// FeedTombstone.
	Result      string
	Outcome     string             // Created, Updated, Unchanged when applied
	Appointment beckon.Appointment // as it is now; zero for a tombstone
}

// ApplyEvent applies one feed event to the clinic in one transaction: the
// patient, the appointment and its re-planned sends, and the feed state that
// orders later events. An event known to be older than the last one applied
// is ignored (see olderThan: an event without a version or source time is
// ordered by arrival); the same message twice is a duplicate; a cancellation
// of an unknown appointment is remembered (a tombstone), so that a booking
// sent before it but arriving later does not resurrect the appointment. A
// not-scheduled status (NotScheduled) of an unknown appointment changes
// nothing.
func (s *Service) ApplyEvent(ctx context.Context, clinicID string, ev FeedEvent, actor string) (FeedResult, error) {
	o, err := s.applyOne(ctx, clinicID, Change{Event: &ev}, actor)
	if err != nil {
		return FeedResult{}, err
	}
	return o.feedResult(), nil
}

// compareSource orders ev against what state last applied: by version when
// both have one (FHIR meta.versionId), else by source time when both have one
// (FHIR meta.lastUpdated, HL7 MSH-7). ok is false when they cannot be
// compared (a FHIR resource without meta, say).
func compareSource(ev FeedEvent, state beckon.FeedState) (c int, ok bool) {
	if ev.SourceVersion > 0 && state.SourceVersion > 0 {
		return cmp.Compare(ev.SourceVersion, state.SourceVersion), true
	}
	if !ev.SourceAt.IsZero() && !state.SourceAt.IsZero() {
		return ev.SourceAt.Compare(state.SourceAt), true
	}
	return 0, false
}

// olderThan reports whether ev is known to be sent before what state last
// applied. An event that cannot be compared is not older: without a version
// or a source time, the order in which messages arrive is the EHR's order
// (as an interface engine that queues in order expects), so a later message
// wins.
func olderThan(ev FeedEvent, state beckon.FeedState) bool {
	c, ok := compareSource(ev, state)
	return ok && c < 0
}

// notNewer reports whether ev is known to be sent no later than what state
// last applied (the same instant included).
func notNewer(ev FeedEvent, state beckon.FeedState) bool {
	c, ok := compareSource(ev, state)
	return ok && c <= 0
}

// passOver is why an event changes nothing, given the appointment's feed
// state (when known) and whether the appointment exists: a duplicate, or a
// stale event; "" when it is to be applied.
func passOver(ev FeedEvent, state beckon.FeedState, known, exists bool) string {
	if !known {
		return ""
	}
	switch {
	case ev.Digest != "" && ev.Digest == state.Digest:
		return beckon.FeedDuplicate
	case olderThan(ev, state):
		return beckon.FeedStale
	case state.Tombstone && !exists && !ev.cancels() && notNewer(ev, state):
		// A booking sent at the same time as the cancellation we hold.
		return beckon.FeedStale
	}
	return ""
}

// feedAppointment is the appointment an event describes, completed from the
// stored one (old, when exists): an event keeps what it leaves out, as a
// feed never erases what it did not send. An HL7 S14 without AIS, AIP or
// AIL (or a FHIR update without a Location participant) keeps the stored
// type, provider or location; a provider or location is replaced as a
// whole, its id and name together; notes not sent keep the stored ones.
// ErrIncompleteEvent when it names no patient or start, even with old.
func feedAppointment(clinicID string, ev FeedEvent, old beckon.Appointment, exists bool) (beckon.Appointment, error) {
	a := ev.Appointment
	// What Beckon keeps of an appointment is not the source's to say.
	a.ClinicID, a.Version, a.Confirmation = clinicID, 0, ""
	a.CreatedAt, a.UpdatedAt = time.Time{}, time.Time{}
	a.PatientID = cmp.Or(a.PatientID, ev.Patient.ID)
	a.Status = cmp.Or(a.Status, beckon.StatusBooked)
	if exists {
		a.PatientID = cmp.Or(a.PatientID, old.PatientID)
		if a.Start.IsZero() {
			a.Start = old.Start
		}
		if a.Duration == 0 {
			a.Duration = old.Duration
		}
		a.Type = cmp.Or(a.Type, old.Type)
		if a.Provider == "" && a.ProviderName == "" {
			a.Provider, a.ProviderName = old.Provider, old.ProviderName
		}
		if a.Location == "" && a.LocationName == "" {
			a.Location, a.LocationName = old.Location, old.LocationName
		}
		a.Notes = cmp.Or(a.Notes, old.Notes)
	}
	if a.PatientID == "" || a.Start.IsZero() {
		return a, ErrIncompleteEvent
	}
	if a.Duration == 0 {
		a.Duration = 30 * time.Minute
	}
	return a, nil
}

// FeedStep is one entry of a feed transaction (a FHIR transaction Bundle):
// a patient to create or update (merged over what is stored, as an event's
// patient is), or an appointment event.
type FeedStep struct {
	Patient *beckon.Patient
	Event   *FeedEvent
	// IfNoneExist makes the step a conditional create (FHIR ifNoneExist):
	// when the patient or the appointment exists, it is left as it is and
	// the step's outcome is Unchanged.
	IfNoneExist bool
}

// FeedStepResult is what one step did: PatientOutcome (Created, Updated,
// Unchanged) for a patient, Feed for an event.
type FeedStepResult struct {
	Patient        beckon.Patient
	PatientOutcome string
	Feed           FeedResult
}

// FeedStepError is the step of a feed transaction that failed, and why.
type FeedStepError struct {
	Index int // into the steps
	Err   error
}

func (e *FeedStepError) Error() string { return fmt.Sprintf("step %d: %v", e.Index, e.Err) }
func (e *FeedStepError) Unwrap() error { return e.Err }

// ApplyEvents applies every step in one transaction, in order, all or none:
// each event as ApplyEvent does (ordering, duplicates, tombstones; a later
// step sees what the earlier ones did). When a step fails nothing is
// applied, and the error is a *FeedStepError naming it.
func (s *Service) ApplyEvents(ctx context.Context, clinicID string, steps []FeedStep, actor string) ([]FeedStepResult, error) {
	changes := make([]Change, len(steps))
	for i, st := range steps {
		changes[i] = Change{Patient: st.Patient, MergePatient: true, Event: st.Event, IfNoneExist: st.IfNoneExist}
	}
	out, err := s.applyTx(ctx, clinicID, changes, actor, maxFeedRound)
	var item *ItemError
	if errors.As(err, &item) {
		return nil, &FeedStepError{Index: item.Index, Err: item.Err}
	}
	if err != nil {
		return nil, err
	}
	res := make([]FeedStepResult, len(out))
	for i, o := range out {
		if steps[i].Patient != nil {
			res[i].Patient, res[i].PatientOutcome = *o.Patient, o.Outcome
		} else {
			res[i].Feed = o.feedResult()
		}
	}
	return res, nil
}
