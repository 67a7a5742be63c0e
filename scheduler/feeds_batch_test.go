package scheduler_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// feedStory is a sequence of events that exercises every path of a feed
// event: bookings, a reschedule and a cancellation (superseded sends), the
// same appointment and the same patient twice in a batch, a duplicate, a
// stale message, a tombstone and a booking it stops, a not-scheduled
// status, an unknown patient, an incomplete event, and a patient whose time
// zone moves (their other appointments re-planned).
func feedStory(now time.Time) [][]scheduler.FeedEvent {
	start := now.Add(72 * time.Hour)
	booking := func(appt, patient, digest string, at, start time.Time) scheduler.FeedEvent {
		return scheduler.FeedEvent{
			Appointment: beckon.Appointment{ID: appt, Start: start, Duration: 30 * time.Minute, Status: beckon.StatusBooked},
			Patient:     beckon.Patient{ID: patient, FirstName: "Ana", Phone: "+14155550123"},
			SourceAt:    at,
			Digest:      digest,
		}
	}
	cancel := func(appt, digest string, at time.Time) scheduler.FeedEvent {
		return scheduler.FeedEvent{Appointment: beckon.Appointment{ID: appt, Status: beckon.StatusCancelled}, Partial: true, SourceAt: at, Digest: digest}
	}
	moved := booking("A-2", "MRN-1", "s14-a2", now.Add(3*time.Minute), start.Add(48*time.Hour))
	moved.Patient.Phone = "+14155550199"
	paris := booking("A-5", "MRN-2", "s12-a5-paris", now.Add(5*time.Minute), start.Add(24*time.Hour))
	paris.Patient.TimeZone = "Europe/Paris"
	return [][]scheduler.FeedEvent{
		{
			booking("A-1", "MRN-1", "s12-a1", now, start),
			booking("A-2", "MRN-1", "s12-a2", now, start.Add(24*time.Hour)),
			booking("A-1", "MRN-1", "s13-a1", now.Add(time.Minute), start.Add(time.Hour)), // A-1 again: a second round
			booking("A-1", "MRN-1", "s12-a1-late", now.Add(-time.Minute), start),          // older than what was applied
		},
		{
			cancel("A-3", "s15-a3", now),
			booking("A-3", "MRN-3", "s12-a3", now.Add(-time.Minute), start), // sent before the cancellation we hold
			{Appointment: beckon.Appointment{ID: "A-9", PatientID: "nobody", Start: start}, Digest: "unknown-patient"},
			{Appointment: beckon.Appointment{ID: "A-8"}, Patient: beckon.Patient{ID: "MRN-8"}, Digest: "incomplete"},
			booking("A-4", "MRN-4", "s12-a4", now, start),
		},
		{
			cancel("A-1", "s15-a1", now.Add(2*time.Minute)),
			cancel("A-1", "s15-a1", now.Add(2*time.Minute)), // the same message twice
			{Appointment: beckon.Appointment{ID: "A-7", PatientID: "MRN-1", Status: beckon.StatusCancelled}, Partial: true, NotScheduled: true, Digest: "waitlist"},
			moved,
			booking("A-6", "MRN-2", "s12-a6", now, start.Add(2*time.Hour)),
		},
		{
			paris,
			booking("A-4", "MRN-4", "s12-a4", now, start), // a duplicate of an earlier batch
		},
	}
}

// TestApplyFeedBatchMatchesApplyEvent: a batch does what applying its events
// one at a time does, event by event and in what it leaves in the store.
func TestApplyFeedBatchMatchesApplyEvent(t *testing.T) {
	t.Parallel()
	b := feedSetup(t)
	batched := storetest.Clinic(t, b.st, storetest.ClinicOpts{})
	storetest.Campaign(t, b.st, batched.ID, storetest.CampaignOpts{})
	var plans scheduler.PlanCache

	for i, batch := range feedStory(b.now) {
		out, err := b.svc.ApplyFeedBatch(b.ctx, scheduler.FeedBatch{ClinicID: batched.ID, Events: batch, Actor: "ehr:test", Plans: &plans})
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		for j, ev := range batch {
			want, wantErr := b.svc.ApplyEvent(b.ctx, b.clin.ID, ev, "ehr:test")
			got := out[j]
			if !errors.Is(got.Err, wantErr) || (wantErr == nil && got.Err != nil) {
				t.Fatalf("batch %d event %d (%s): err %v, want %v", i, j, ev.Digest, got.Err, wantErr)
			}
			if g, w := feedResultKey(got.Result), feedResultKey(want); g != w {
				t.Fatalf("batch %d event %d (%s):\n got %s\nwant %s", i, j, ev.Digest, g, w)
			}
		}
	}
	for _, id := range []string{"A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "A-7", "A-8", "A-9"} {
		if g, w := storedKey(t, b, batched.ID, id), storedKey(t, b, b.clin.ID, id); g != w {
			t.Fatalf("%s as stored:\n got %s\nwant %s", id, g, w)
		}
	}
	for _, id := range []string{"MRN-1", "MRN-2", "MRN-3", "MRN-4", "MRN-8"} {
		if g, w := patientKey(t, b, batched.ID, id), patientKey(t, b, b.clin.ID, id); g != w {
			t.Fatalf("patient %s:\n got %s\nwant %s", id, g, w)
		}
	}
}

func feedResultKey(r scheduler.FeedResult) string {
	a := r.Appointment
	return fmt.Sprintf("%s/%s v%d %s %s %s %s %q %q %q %q %q %q", r.Result, r.Outcome, a.Version, a.Status, a.PatientID, a.Start.UTC().Format(time.RFC3339), a.Confirmation,
		a.Type, a.Provider, a.ProviderName, a.Location, a.LocationName, a.Notes)
}

// storedKey is an appointment, its sends and its feed state, without the
// clinic's ids.
func storedKey(t *testing.T, b *feedBundle, clinicID, id string) string {
	t.Helper()
	key := ""
	a, err := b.st.AppointmentGet(b.ctx, clinicID, id)
	switch {
	case errors.Is(err, beckon.ErrNotFound):
		key += "no appointment;"
	case err != nil:
		t.Fatal(err)
	default:
		key += feedResultKey(scheduler.FeedResult{Appointment: a}) + ";"
	}
	sends, err := b.st.SendListByAppointment(b.ctx, clinicID, id)
	if err != nil {
		t.Fatal(err)
	}
	var ss []string
	for _, s := range sends {
		ss = append(ss, fmt.Sprintf("%s v%d %s %q %s", s.StepID, s.AppointmentVersion, s.Status, s.Reason, s.DueAt.UTC().Format(time.RFC3339)))
	}
	slices.Sort(ss)
	key += fmt.Sprint(ss) + ";"
	st, err := b.st.FeedStateGet(b.ctx, clinicID, id)
	switch {
	case errors.Is(err, beckon.ErrNotFound):
		key += "no feed state"
	case err != nil:
		t.Fatal(err)
	default:
		key += fmt.Sprintf("%s tomb=%v at=%s v%d", st.Digest, st.Tombstone, st.SourceAt.UTC().Format(time.RFC3339), st.SourceVersion)
	}
	return key
}

func patientKey(t *testing.T, b *feedBundle, clinicID, id string) string {
	t.Helper()
	p, err := b.st.PatientGet(b.ctx, clinicID, id)
	if errors.Is(err, beckon.ErrNotFound) {
		return "none"
	}
	if err != nil {
		t.Fatal(err)
	}
	p.ClinicID = ""
	return fmt.Sprintf("%+v", p)
}

// TestApplyFeedBatchPlanCache: a batch planned with cached campaigns that
// have changed since is planned again with the stored ones.
func TestApplyFeedBatchPlanCache(t *testing.T) {
	t.Parallel()
	b := feedSetup(t)
	var plans scheduler.PlanCache
	ev := func(appt string) scheduler.FeedEvent {
		return scheduler.FeedEvent{
			Appointment: beckon.Appointment{ID: appt, Start: b.now.Add(72 * time.Hour), Status: beckon.StatusBooked},
			Patient:     beckon.Patient{ID: "MRN-1", Phone: "+14155550123"},
			Digest:      appt,
		}
	}
	apply := func(appt string) {
		t.Helper()
		out, err := b.svc.ApplyFeedBatch(b.ctx, scheduler.FeedBatch{ClinicID: b.clin.ID, Events: []scheduler.FeedEvent{ev(appt)}, Plans: &plans})
		if err != nil || out[0].Err != nil || out[0].Result.Result != beckon.FeedApplied {
			t.Fatalf("%s: %+v, %v", appt, out, err)
		}
	}
	steps := func(appt string) []string {
		t.Helper()
		sends, err := b.st.SendListByAppointment(b.ctx, b.clin.ID, appt)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range sends {
			ids = append(ids, s.StepID)
		}
		slices.Sort(ids)
		return ids
	}
	apply("A-1") // caches the clinic and its campaigns
	cs, err := b.st.CampaignList(b.ctx, b.clin.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns %v, %v", cs, err)
	}
	c := cs[0]
	c.Steps = append(c.Steps, beckon.Step{ID: "remind-48h", Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -48 * time.Hour},
		Channel: beckon.ChannelSMS, Template: "reminder"})
	if _, _, err := b.svc.PutCampaign(b.ctx, c, "staff"); err != nil {
		t.Fatal(err)
	}
	apply("A-2")
	if got := steps("A-2"); !slices.Equal(got, []string{"remind-24h", "remind-48h"}) {
		t.Fatalf("A-2 planned with a stale campaign: steps %v", got)
	}
	// A new campaign, and a changed clinic, are seen too.
	storetest.Campaign(t, b.st, b.clin.ID, storetest.CampaignOpts{Steps: []beckon.Step{{ID: "day-of",
		Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -2 * time.Hour}, Channel: beckon.ChannelSMS, Template: "reminder"}}})
	apply("A-3")
	if got := steps("A-3"); !slices.Equal(got, []string{"day-of", "remind-24h", "remind-48h"}) {
		t.Fatalf("A-3 planned without the new campaign: steps %v", got)
	}
	clinic, err := b.st.ClinicGet(b.ctx, b.clin.ID)
	if err != nil {
		t.Fatal(err)
	}
	clinic.TimeZone = "Asia/Tokyo"
	clinic.UpdatedAt = b.now.Add(time.Minute)
	if err := b.st.ClinicUpdate(b.ctx, clinic); err != nil {
		t.Fatal(err)
	}
	// Events mapped in the stored zone go through, though the cached copy
	// holds another.
	out, err := b.svc.ApplyFeedBatch(b.ctx, scheduler.FeedBatch{ClinicID: b.clin.ID, Events: []scheduler.FeedEvent{ev("A-4")}, Plans: &plans,
		TimeZone: "Asia/Tokyo"})
	if err != nil || out[0].Err != nil || out[0].Result.Result != beckon.FeedApplied {
		t.Fatalf("A-4 mapped in the stored zone: %+v, %v", out, err)
	}
	// Events mapped in the zone before: nothing is applied.
	_, err = b.svc.ApplyFeedBatch(b.ctx, scheduler.FeedBatch{ClinicID: b.clin.ID, Events: []scheduler.FeedEvent{ev("A-5")}, Plans: &plans,
		TimeZone: b.clin.TimeZone})
	if !errors.Is(err, scheduler.ErrZoneChanged) {
		t.Fatalf("events mapped in the former zone %s: %v", b.clin.TimeZone, err)
	}
	if _, err := b.st.AppointmentGet(b.ctx, b.clin.ID, "A-5"); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("A-5 applied although its zone check failed: %v", err)
	}
}
