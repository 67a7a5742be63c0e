package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

type feedBundle struct {
	ctx  context.Context
	st   beckon.Store
	svc  *scheduler.Service
	clin beckon.Clinic
	now  time.Time
}

func feedSetup(t *testing.T) *feedBundle {
	t.Helper()
	st := storetest.Open(t)
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	b := &feedBundle{ctx: t.Context(), st: st, now: now,
		svc:  &scheduler.Service{Store: st, Clock: beckon.NewManualClock(now)},
		clin: storetest.Clinic(t, st, storetest.ClinicOpts{}),
	}
	storetest.Campaign(t, st, b.clin.ID, storetest.CampaignOpts{})
	return b
}

func (b *feedBundle) apply(t *testing.T, ev scheduler.FeedEvent, want string) scheduler.FeedResult {
	t.Helper()
	res, err := b.svc.ApplyEvent(b.ctx, b.clin.ID, ev, "ehr:test")
	if err != nil {
		t.Fatalf("apply %s: %v", ev.Digest, err)
	}
	if res.Result != want {
		t.Fatalf("apply %s: result %s, want %s", ev.Digest, res.Result, want)
	}
	return res
}

func TestApplyEvent(t *testing.T) {
	t.Parallel()
	booking := func(b *feedBundle, digest string, at time.Time, start time.Time) scheduler.FeedEvent {
		return scheduler.FeedEvent{
			Appointment: beckon.Appointment{ID: "A-1", Start: start, Duration: 30 * time.Minute, Status: beckon.StatusBooked},
			Patient:     beckon.Patient{ID: "MRN-1", FirstName: "Ana", Phone: "+14155550123"},
			SourceAt:    at,
			Digest:      digest,
		}
	}
	cancel := func(digest string, at time.Time) scheduler.FeedEvent {
		return scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-1", Status: beckon.StatusCancelled}, Partial: true, SourceAt: at, Digest: digest}
	}
	t.Run("OrderAndIdempotency", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		start := b.now.Add(72 * time.Hour)
		r := b.apply(t, booking(b, "s12", b.now, start), beckon.FeedApplied)
		if r.Outcome != scheduler.Created || r.Appointment.Version != 1 {
			t.Fatalf("first: %+v", r)
		}
		b.apply(t, booking(b, "s12", b.now, start), beckon.FeedDuplicate)
		r = b.apply(t, booking(b, "s13", b.now.Add(time.Minute), start.Add(time.Hour)), beckon.FeedApplied)
		if r.Appointment.Version != 2 || !r.Appointment.Start.Equal(start.Add(time.Hour)) {
			t.Fatalf("reschedule: %+v", r)
		}
		// An older message (sent before the reschedule) arriving late is ignored.
		b.apply(t, booking(b, "s12-old", b.now.Add(-time.Minute), start), beckon.FeedStale)
		r = b.apply(t, cancel("s15", b.now.Add(2*time.Minute)), beckon.FeedApplied)
		if r.Appointment.Status != beckon.StatusCancelled || r.Appointment.Version != 3 || !r.Appointment.Start.Equal(start.Add(time.Hour)) {
			t.Fatalf("cancel: %+v", r)
		}
		sends, err := b.st.SendListByAppointment(b.ctx, b.clin.ID, "A-1")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sends {
			if s.Status == beckon.SendPlanned {
				t.Fatalf("send %s still planned after cancel", s.ID)
			}
		}
		p, err := b.st.PatientGet(b.ctx, b.clin.ID, "MRN-1")
		if err != nil || p.FirstName != "Ana" {
			t.Fatalf("patient %+v, %v", p, err)
		}
	})
	t.Run("TombstoneStopsLateBooking", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		b.apply(t, cancel("s15", b.now), beckon.FeedTombstone)
		b.apply(t, booking(b, "s12", b.now.Add(-time.Minute), b.now.Add(48*time.Hour)), beckon.FeedStale)
		if _, err := b.st.AppointmentGet(b.ctx, b.clin.ID, "A-1"); err != beckon.ErrNotFound {
			t.Fatalf("appointment resurrected: %v", err)
		}
		// A booking sent after the cancellation is a new booking.
		b.apply(t, booking(b, "s12-new", b.now.Add(time.Minute), b.now.Add(48*time.Hour)), beckon.FeedApplied)
	})
	t.Run("NotScheduledLeavesNoTombstone", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		// A FHIR "proposed" without meta for an appointment Beckon never saw.
		proposed := scheduler.FeedEvent{
			Appointment:  beckon.Appointment{ID: "A-1", PatientID: "MRN-1", Status: beckon.StatusCancelled},
			Partial:      true,
			NotScheduled: true,
			Digest:       "proposed",
		}
		b.apply(t, proposed, beckon.FeedUnchanged)
		if st, err := b.st.FeedStateGet(b.ctx, b.clin.ID, "A-1"); err == nil && st.Tombstone {
			t.Fatal("a proposed appointment left a tombstone")
		}
		// The booking without meta that follows is news, not older.
		r := b.apply(t, booking(b, "booked", time.Time{}, b.now.Add(48*time.Hour)), beckon.FeedApplied)
		if r.Appointment.Status != beckon.StatusBooked {
			t.Fatalf("booked: %+v", r)
		}
		// Back to waitlist: a known appointment stops like a cancellation.
		proposed.Digest = "waitlist"
		r = b.apply(t, proposed, beckon.FeedApplied)
		if r.Appointment.Status != beckon.StatusCancelled {
			t.Fatalf("waitlist: %+v", r)
		}
	})
	t.Run("NoMetaArrivalOrder", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		// A real cancellation of an unknown appointment leaves a tombstone…
		b.apply(t, cancel("cancelled", time.Time{}), beckon.FeedTombstone)
		// …but a booking without version or time that arrives after it is
		// later by arrival: it books.
		b.apply(t, booking(b, "booked", time.Time{}, b.now.Add(48*time.Hour)), beckon.FeedApplied)
		// Stamped messages followed by unstamped ones: arrival order.
		ev := booking(b, "v3", time.Time{}, b.now.Add(50*time.Hour))
		ev.SourceVersion = 3
		b.apply(t, ev, beckon.FeedApplied)
		r := b.apply(t, cancel("cancelled-again", time.Time{}), beckon.FeedApplied)
		if r.Appointment.Status != beckon.StatusCancelled {
			t.Fatalf("cancel: %+v", r)
		}
		// A tombstone with a time still stops a booking of the same instant.
		ev = cancel("c2", b.now)
		ev.Appointment.ID = "A-2"
		b.apply(t, ev, beckon.FeedTombstone)
		bk := booking(b, "b2", b.now, b.now.Add(48*time.Hour))
		bk.Appointment.ID = "A-2"
		b.apply(t, bk, beckon.FeedStale)
	})
	t.Run("ApplyEventsAllOrNone", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		ok := booking(b, "t1", time.Time{}, b.now.Add(48*time.Hour))
		bad := scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-2", PatientID: "nobody", Start: b.now.Add(time.Hour)}, Digest: "t2"}
		_, err := b.svc.ApplyEvents(b.ctx, b.clin.ID, []scheduler.FeedStep{
			{Patient: &beckon.Patient{ID: "MRN-2", FirstName: "Bo"}}, {Event: &ok}, {Event: &bad},
		}, "ehr:test")
		var se *scheduler.FeedStepError
		if !errors.As(err, &se) || se.Index != 2 || !errors.Is(err, scheduler.ErrUnknownPatient) {
			t.Fatalf("err %v, want step 2 ErrUnknownPatient", err)
		}
		if _, err := b.st.AppointmentGet(b.ctx, b.clin.ID, "A-1"); err != beckon.ErrNotFound {
			t.Fatalf("A-1 applied by a failed transaction: %v", err)
		}
		if _, err := b.st.PatientGet(b.ctx, b.clin.ID, "MRN-2"); err != beckon.ErrNotFound {
			t.Fatalf("MRN-2 applied by a failed transaction: %v", err)
		}
		if _, err := b.st.FeedStateGet(b.ctx, b.clin.ID, "A-1"); err != beckon.ErrNotFound {
			t.Fatalf("feed state of a failed transaction: %v", err)
		}
		// The same steps with the patient the event needs: all applied, in order.
		bad.Appointment.PatientID = "MRN-2"
		res, err := b.svc.ApplyEvents(b.ctx, b.clin.ID, []scheduler.FeedStep{
			{Patient: &beckon.Patient{ID: "MRN-2", FirstName: "Bo"}}, {Event: &ok}, {Event: &bad},
		}, "ehr:test")
		if err != nil {
			t.Fatal(err)
		}
		if res[0].PatientOutcome != scheduler.Created || res[1].Feed.Result != beckon.FeedApplied || res[2].Feed.Outcome != scheduler.Created {
			t.Fatalf("results %+v", res)
		}
	})
	t.Run("ApplyEventsIfNoneExist", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		ok := booking(b, "n1", time.Time{}, b.now.Add(48*time.Hour))
		ok.Patient = beckon.Patient{}
		ok.Appointment.PatientID = "MRN-3"
		steps := []scheduler.FeedStep{
			{Patient: &beckon.Patient{ID: "MRN-3", FirstName: "Cy"}, IfNoneExist: true}, {Event: &ok, IfNoneExist: true},
		}
		res, err := b.svc.ApplyEvents(b.ctx, b.clin.ID, steps, "ehr:test")
		if err != nil || res[0].PatientOutcome != scheduler.Created || res[1].Feed.Outcome != scheduler.Created {
			t.Fatalf("conditional creates of new resources: %+v %v", res, err)
		}
		// Both exist now: a conditional create leaves them as they are.
		moved := ok
		moved.Digest, moved.Appointment.Start = "n2", b.now.Add(72*time.Hour)
		steps = []scheduler.FeedStep{
			{Patient: &beckon.Patient{ID: "MRN-3", FirstName: "Changed"}, IfNoneExist: true}, {Event: &moved, IfNoneExist: true},
		}
		res, err = b.svc.ApplyEvents(b.ctx, b.clin.ID, steps, "ehr:test")
		if err != nil || res[0].PatientOutcome != scheduler.Unchanged || res[0].Patient.FirstName != "Cy" ||
			res[1].Feed.Outcome != scheduler.Unchanged || res[1].Feed.Appointment.Version != 1 {
			t.Fatalf("conditional creates of existing resources: %+v %v", res, err)
		}
		p, _ := b.st.PatientGet(b.ctx, b.clin.ID, "MRN-3")
		a, _ := b.st.AppointmentGet(b.ctx, b.clin.ID, "A-1")
		if p.FirstName != "Cy" || !a.Start.Equal(ok.Appointment.Start) {
			t.Fatalf("changed by a conditional create: %+v %+v", p, a)
		}
	})
	t.Run("FHIRVersionOrder", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		ev := booking(b, "v2", time.Time{}, b.now.Add(48*time.Hour))
		ev.SourceVersion = 2
		b.apply(t, ev, beckon.FeedApplied)
		ev.SourceVersion, ev.Digest, ev.Appointment.Start = 1, "v1", b.now.Add(50*time.Hour)
		b.apply(t, ev, beckon.FeedStale)
	})
	t.Run("IncompleteAndUnknownPatient", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		_, err := b.svc.ApplyEvent(b.ctx, b.clin.ID, scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-9", PatientID: "nobody", Start: b.now.Add(time.Hour)}, Digest: "x"}, "t")
		if err != scheduler.ErrUnknownPatient {
			t.Fatalf("err %v, want ErrUnknownPatient", err)
		}
		_, err = b.svc.ApplyEvent(b.ctx, b.clin.ID, scheduler.FeedEvent{Appointment: beckon.Appointment{ID: "A-9"}, Patient: beckon.Patient{ID: "p"}, Digest: "y"}, "t")
		if err != scheduler.ErrIncompleteEvent {
			t.Fatalf("err %v, want ErrIncompleteEvent", err)
		}
	})
	t.Run("Confirm", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		b.apply(t, booking(b, "s12", b.now, b.now.Add(72*time.Hour)), beckon.FeedApplied)
		if err := b.st.FeedSettingsPut(b.ctx, beckon.FeedSettings{ClinicID: b.clin.ID, FHIRBaseURL: "http://ehr.test/fhir", Writeback: true}); err != nil {
			t.Fatal(err)
		}
		res, err := b.svc.Confirm(b.ctx, beckon.Confirmation{ClinicID: b.clin.ID, AppointmentID: "A-1", Response: beckon.ResponseRescheduleRequested, By: "patient", Method: "phone", Actor: "key:k"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Appointment.Confirmation != beckon.ResponseRescheduleRequested || res.Appointment.Version != 2 || res.Confirmation.AppointmentVersion != 2 {
			t.Fatalf("confirm: %+v", res)
		}
		if len(res.Writebacks) != 1 || res.Writebacks[0].Kind != beckon.WritebackFHIR {
			t.Fatalf("writebacks %+v", res.Writebacks)
		}
		_, err = b.svc.Confirm(b.ctx, beckon.Confirmation{ClinicID: b.clin.ID, AppointmentID: "nope", Response: beckon.ResponseConfirmed})
		if err != beckon.ErrNotFound {
			t.Fatalf("unknown appointment: %v", err)
		}
	})
}
