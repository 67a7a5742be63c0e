package scheduler

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// fuzzZones are zones with unusual rules: half- and quarter-hour offsets,
// half-hour DST (Lord Howe), southern DST, negative DST (Dublin), DST at
// midnight (Santiago, Havana), a skipped day (Apia), plus empty and unknown.
var fuzzZones = []string{
	"", "UTC", "Nowhere/Else", "America/New_York", "America/Los_Angeles", "Europe/London",
	"Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham",
	"America/St_Johns", "Europe/Dublin", "America/Santiago", "America/Havana",
	"Pacific/Apia", "Asia/Tehran", "Africa/Casablanca", "Asia/Kathmandu",
}

var fuzzStatuses = []beckon.AppointmentStatus{beckon.StatusBooked, beckon.StatusArrived, beckon.StatusFulfilled, beckon.StatusCancelled, beckon.StatusNoShow, ""}

var fuzzEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzTransitions lists the zone changes of every fuzz zone in 2025–2027, so
// that fuzzed instants can be put close to one.
var fuzzTransitions = sync.OnceValue(func() []time.Time {
	var out []time.Time
	for _, name := range fuzzZones {
		loc, err := time.LoadLocation(name)
		if err != nil || name == "" {
			continue
		}
		t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for t.Year() < 2028 {
			_, end := t.ZoneBounds()
			if end.IsZero() {
				break
			}
			out = append(out, end.In(loc))
			t = end
		}
	}
	return out
})

// fuzzInstant maps sec to an instant: near a zone change when nearChange, so
// daylight-saving edge cases are common, else anywhere in 1960–2040.
func fuzzInstant(sec int64, nearChange uint8) time.Time {
	if tr := fuzzTransitions(); nearChange%2 == 0 && len(tr) > 0 {
		return tr[int(nearChange/2)%len(tr)].Add(time.Duration(span(sec, 2*86_400)) * time.Second)
	}
	return fuzzEpoch.Add(time.Duration(span(sec, 40*366*86_400)) * time.Second)
}

// span maps v into [-limit, limit].
func span(v, limit int64) int64 {
	return v % (limit + 1)
}

func FuzzPlan(f *testing.F) {
	//       start s, near change, now-start s, kind, offset s, day, atMin, qOn,  qStart, qEnd, pZone, cZone, status, confirmed, onlyUnconf
	f.Add(int64(830_000_000), uint8(0), int64(-86_400*3), uint8(1), int64(0), int16(-1), int16(150), true, int16(1260), int16(480), uint8(3), uint8(3), uint8(0), false, false)
	f.Add(int64(846_500_000), uint8(0), int64(-86_400), uint8(0), int64(-86_400), int16(0), int16(0), true, int16(0), int16(150), uint8(3), uint8(1), uint8(0), true, true)
	f.Add(int64(828_000_000), uint8(0), int64(-3_600), uint8(0), int64(-7_200), int16(0), int16(0), true, int16(1260), int16(480), uint8(8), uint8(6), uint8(1), false, false)
	f.Add(int64(830_100_000), uint8(0), int64(-600_000), uint8(1), int64(0), int16(-2), int16(1380), true, int16(120), int16(90), uint8(14), uint8(7), uint8(0), false, true)
	f.Add(int64(0), uint8(0), int64(0), uint8(2), int64(0), int16(0), int16(-5), false, int16(2000), int16(-3), uint8(2), uint8(0), uint8(5), true, false)
	f.Fuzz(func(t *testing.T, startSec int64, nearChange uint8, nowDelta int64, kind uint8, offsetSec int64, day, atMinute int16,
		quietOn bool, quietStart, quietEnd int16, patientZone, clinicZone, status uint8, confirmed, onlyUnconfirmed bool) {
		start := fuzzInstant(startSec, nearChange)
		now := start.Add(time.Duration(span(nowDelta, 120*86_400)) * time.Second)

		step := beckon.Step{ID: "fuzzed", Channel: beckon.ChannelSMS, OnlyIfUnconfirmed: onlyUnconfirmed}
		switch kind % 3 {
		case 0:
			step.Timing = beckon.Timing{Kind: beckon.TimingOffset, Offset: time.Duration(span(offsetSec, 90*86_400)) * time.Second}
		case 1:
			step.Timing = beckon.Timing{Kind: beckon.TimingDay, Day: int(span(int64(day), 90)), AtMinute: int(span(int64(atMinute), 1439))}
			if step.Timing.AtMinute < 0 {
				step.Timing.AtMinute = -step.Timing.AtMinute
			}
		default: // raw values, often invalid
			step.Timing = beckon.Timing{Kind: beckon.TimingDay, Day: int(day), AtMinute: int(atMinute)}
		}
		confirmation := beckon.Unconfirmed
		if confirmed {
			confirmation = beckon.Confirmed
		}
		in := PlanInput{
			Clinic: beckon.Clinic{
				ID:         "cln_1",
				TimeZone:   fuzzZones[int(clinicZone)%len(fuzzZones)],
				QuietHours: beckon.QuietHours{Enabled: quietOn, StartMinute: int(quietStart), EndMinute: int(quietEnd)},
			},
			Patient: beckon.Patient{ClinicID: "cln_1", ID: "pat_1", TimeZone: fuzzZones[int(patientZone)%len(fuzzZones)]},
			Appointment: beckon.Appointment{
				ClinicID:     "cln_1",
				ID:           "apt_1",
				PatientID:    "pat_1",
				Start:        start,
				Status:       fuzzStatuses[int(status)%len(fuzzStatuses)],
				Confirmation: confirmation,
				Version:      1,
			},
			Campaigns: []beckon.Campaign{campaign("cmp_1", step, dayAt("day-before", -1, "09:00"), offset("hour-before", -time.Hour))},
			Now:       now,
		}

		sends := Plan(in)
		if again := Plan(in); !reflect.DeepEqual(sends, again) {
			t.Fatalf("Plan is not deterministic:\n%+v\n%+v", sends, again)
		}
		if in.Appointment.Status == beckon.StatusCancelled || in.Appointment.Status == beckon.StatusNoShow {
			if sends != nil {
				t.Fatalf("Plan for a %s appointment = %+v, want nil", in.Appointment.Status, sends)
			}
			return
		}
		if len(sends) != 3 {
			t.Fatalf("Plan gave %d sends, want 3", len(sends))
		}
		loc := Location(in.Clinic, in.Patient)
		for i, s := range sends {
			if i > 0 {
				p := sends[i-1]
				if p.DueAt.After(s.DueAt) || p.DueAt.Equal(s.DueAt) && p.ID >= s.ID {
					t.Errorf("sends %d and %d out of order", i-1, i)
				}
			}
			if want := SendID("cln_1", "apt_1", 1, "cmp_1", 2, s.StepID); s.ID != want {
				t.Errorf("send %s ID = %q, want %q", s.StepID, s.ID, want)
			}
			if s.DueAt.Location() != time.UTC || !s.CreatedAt.Equal(now) || !s.UpdatedAt.Equal(now) {
				t.Errorf("send %s times: due %s, created %s, updated %s; want UTC and now %s", s.StepID, s.DueAt, s.CreatedAt, s.UpdatedAt, now)
			}
			switch s.Status {
			case beckon.SendSkipped:
				if s.Reason == "" {
					t.Errorf("send %s skipped without a reason", s.StepID)
				}
				continue
			case beckon.SendPlanned:
			default:
				t.Fatalf("send %s status %q, want planned or skipped", s.StepID, s.Status)
			}
			if s.DueAt.Before(now) {
				t.Errorf("planned send %s due %s before now %s", s.StepID, s.DueAt, now)
			}
			if s.BeforeStart && !s.DueAt.Before(start) {
				t.Errorf("planned reminder %s due %s, not before the start %s", s.StepID, s.DueAt, start)
			}
			if s.BeforeStart && (in.Appointment.Status == beckon.StatusArrived || in.Appointment.Status == beckon.StatusFulfilled) {
				t.Errorf("planned reminder %s for a %s appointment", s.StepID, in.Appointment.Status)
			}
			if s.OnlyIfUnconfirmed && confirmed {
				t.Errorf("planned only-if-unconfirmed send %s for a confirmed appointment", s.StepID)
			}
			if _, inside := QuietUntil(in.Clinic.QuietHours, loc, s.DueAt); inside {
				t.Errorf("planned send %s due %s (%s) inside quiet hours %+v", s.StepID, s.DueAt, s.DueAt.In(loc), in.Clinic.QuietHours)
			}
		}
		if len(slices.CompactFunc(slices.Clone(sends), func(a, b beckon.Send) bool { return a.ID == b.ID })) != len(sends) {
			t.Errorf("duplicate send ids")
		}
	})
}

func FuzzQuiet(f *testing.F) {
	f.Add(int64(826_000_000), uint8(1), int16(1260), int16(480), uint8(3))
	f.Add(int64(846_500_000), uint8(1), int16(0), int16(90), uint8(3))
	f.Add(int64(828_000_000), uint8(1), int16(150), int16(300), uint8(8))
	f.Add(int64(0), uint8(1), int16(-30), int16(1500), uint8(14))
	f.Add(int64(-3_000), uint8(0), int16(117), int16(114), uint8(5))
	f.Fuzz(func(t *testing.T, sec int64, nearChange uint8, startMinute, endMinute int16, zoneIdx uint8) {
		q := beckon.QuietHours{Enabled: true, StartMinute: int(startMinute), EndMinute: int(endMinute)}
		loc := Location(beckon.Clinic{TimeZone: fuzzZones[int(zoneIdx)%len(fuzzZones)]}, beckon.Patient{})
		at := fuzzInstant(sec, nearChange)
		end, inside := QuietUntil(q, loc, at)
		if !inside {
			if got := QuietStart(q, loc, at); !got.Equal(at) {
				t.Errorf("QuietStart outside the window = %s, want t %s", got, at)
			}
			return
		}
		if !end.After(at) {
			t.Errorf("QuietUntil(%s) end %s not after t", at.In(loc), end.In(loc))
		}
		if _, still := QuietUntil(q, loc, end); still {
			t.Errorf("QuietUntil(%s) end %s still inside %+v", at.In(loc), end.In(loc), q)
		}
		// At most a day and an hour, or two when a spring-forward jump skips
		// a day's whole open time (London, window 01:57–01:54, 2026-03-29).
		if end.Sub(at) > 49*time.Hour {
			t.Errorf("QuietUntil(%s) end %s more than two days away", at.In(loc), end.In(loc))
		}
		began := QuietStart(q, loc, at)
		if began.After(at) {
			t.Errorf("QuietStart(%s) = %s, after t", at.In(loc), began.In(loc))
		}
		if _, before := QuietUntil(q, loc, began.Add(-time.Nanosecond)); before {
			t.Errorf("QuietStart(%s) = %s, but the instant before is inside %+v", at.In(loc), began.In(loc), q)
		}
		if _, in := QuietUntil(q, loc, began); !in {
			t.Errorf("QuietStart(%s) = %s, itself outside %+v", at.In(loc), began.In(loc), q)
		}
	})
}
