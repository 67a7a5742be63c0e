package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/feeds"
	"github.com/beckonhealth/beckon/scheduler"
)

// namesSIU is an SIU message for appointment A-1 sent at minute sent, with
// the given resource and note segments after the patient.
func namesSIU(t *testing.T, trigger string, sent int, extra ...string) scheduler.FeedEvent {
	t.Helper()
	at := time.Date(2026, 3, 2, 15, sent, 0, 0, time.UTC)
	segs := append([]string{
		"MSH|^~\\&|EPIC|NORTH|BECKON|BECKON|" + at.Format("20060102150405") + "+0000||SIU^" + trigger + "^SIU_S12|C-" + trigger + at.Format("0405") + "|P|2.5.1",
		"SCH|PL-1^EPIC|A-1^EPIC|||||CHECKUP^Checkup|NORMAL|30|MIN|||||||||||||Booked",
		"TQ1|1||||||202603061400+0000",
		"PID|1||MRN-1^^^NORTH^MR||Garcia^Maria||19850401|||||^PRN^CP^^1^617^5550142",
	}, extra...)
	m, err := ehr.Parse([]byte(strings.Join(segs, "\r") + "\r"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ehr.MapSIU(m, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return feeds.EventFromSIU(ev, trigger+at.Format("0405"))
}

// TestFeedNamesKept: the names an HL7 feed sends are stored next to the ids,
// and an S14 without AIL, AIP or NTE keeps them (and the notes) rather than
// clearing them; one that sends another provider replaces id and name
// together. The same through ApplyEvent and ApplyFeedBatch.
func TestFeedNamesKept(t *testing.T) {
	t.Parallel()
	type want struct{ provider, providerName, location, locationName, notes string }
	story := func(t *testing.T) []struct {
		ev     scheduler.FeedEvent
		result string
		want   want
	} {
		named := want{"777", "Dr. Ana Rivera", "MAIN", "Main Street Clinic", "Fasting from midnight."}
		return []struct {
			ev     scheduler.FeedEvent
			result string
			want   want
		}{
			{namesSIU(t, "S12", 1,
				"NTE|1||Fasting from midnight.",
				"RGS|1|A",
				"AIL|1|A|MAIN^1^^NORTH^^^^^Main Street Clinic",
				"AIP|1|A|777^Rivera^Ana^^^Dr.|ATTENDING"), beckon.FeedApplied, named},
			// A modification that sends neither resource nor notes changes nothing.
			{namesSIU(t, "S14", 2, "RGS|1|A"), beckon.FeedUnchanged, named},
			// One that names the provider by id alone: the old name goes with the old id.
			{namesSIU(t, "S14", 3, "RGS|1|A", "AIP|1|A|888|ATTENDING"), beckon.FeedApplied,
				want{"888", "", "MAIN", "Main Street Clinic", "Fasting from midnight."}},
			// A cancellation keeps everything.
			{namesSIU(t, "S15", 4), beckon.FeedApplied, want{"888", "", "MAIN", "Main Street Clinic", "Fasting from midnight."}},
		}
	}
	check := func(t *testing.T, step int, a beckon.Appointment, w want) {
		t.Helper()
		got := want{a.Provider, a.ProviderName, a.Location, a.LocationName, a.Notes}
		if got != w {
			t.Fatalf("step %d: stored %+v, want %+v", step, got, w)
		}
	}
	t.Run("ApplyEvent", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		for i, s := range story(t) {
			r := b.apply(t, s.ev, s.result)
			check(t, i, r.Appointment, s.want)
			a, err := b.st.AppointmentGet(b.ctx, b.clin.ID, "A-1")
			if err != nil {
				t.Fatal(err)
			}
			check(t, i, a, s.want)
		}
	})
	t.Run("ApplyFeedBatch", func(t *testing.T) {
		t.Parallel()
		b := feedSetup(t)
		for i, s := range story(t) {
			out, err := b.svc.ApplyFeedBatch(b.ctx, scheduler.FeedBatch{ClinicID: b.clin.ID, Events: []scheduler.FeedEvent{s.ev}, Actor: "ehr:test"})
			if err != nil || out[0].Err != nil || out[0].Result.Result != s.result {
				t.Fatalf("step %d: %v %v %s, want %s", i, err, out[0].Err, out[0].Result.Result, s.result)
			}
			check(t, i, out[0].Result.Appointment, s.want)
			a, err := b.st.AppointmentGet(b.ctx, b.clin.ID, "A-1")
			if err != nil {
				t.Fatal(err)
			}
			check(t, i, a, s.want)
		}
	})
}
