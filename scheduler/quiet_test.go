package scheduler

import (
	"testing"
	"time"
	_ "time/tzdata" // tests need no zoneinfo on the machine

	"github.com/beckonhealth/beckon"
)

// at parses an RFC 3339 instant or fails the test.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

// zone loads an IANA zone or fails the test.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("zone %q: %v", name, err)
	}
	return loc
}

func quiet(start, end string) beckon.QuietHours {
	return beckon.QuietHours{Enabled: true, StartMinute: hm(start), EndMinute: hm(end)}
}

// hm turns "21:00" into minutes after midnight.
func hm(s string) int {
	v, err := time.Parse("15:04", s)
	if err != nil {
		panic(err)
	}
	return v.Hour()*60 + v.Minute()
}

func TestQuietUntil(t *testing.T) {
	t.Parallel()
	night := quiet("21:00", "08:00")
	tests := []struct {
		name       string
		q          beckon.QuietHours
		zone       string // "" means a nil location
		t          string
		wantInside bool
		wantEnd    string
	}{
		{name: "disabled", q: beckon.QuietHours{StartMinute: hm("21:00"), EndMinute: hm("08:00")}, zone: "America/New_York", t: "2026-06-10T23:00:00-04:00"},
		{name: "start equals end", q: quiet("21:00", "21:00"), zone: "America/New_York", t: "2026-06-10T21:00:00-04:00"},
		{name: "before start", q: night, zone: "America/New_York", t: "2026-06-10T20:59:59-04:00"},
		{name: "at start", q: night, zone: "America/New_York", t: "2026-06-10T21:00:00-04:00", wantInside: true, wantEnd: "2026-06-11T08:00:00-04:00"},
		{name: "before midnight wraps to next day", q: night, zone: "America/New_York", t: "2026-06-10T23:30:00-04:00", wantInside: true, wantEnd: "2026-06-11T08:00:00-04:00"},
		{name: "after midnight", q: night, zone: "America/New_York", t: "2026-06-11T03:00:00-04:00", wantInside: true, wantEnd: "2026-06-11T08:00:00-04:00"},
		{name: "last second", q: night, zone: "America/New_York", t: "2026-06-11T07:59:59-04:00", wantInside: true, wantEnd: "2026-06-11T08:00:00-04:00"},
		{name: "at end", q: night, zone: "America/New_York", t: "2026-06-11T08:00:00-04:00"},
		{name: "daytime", q: night, zone: "America/New_York", t: "2026-06-11T12:00:00-04:00"},
		{name: "same-day window", q: quiet("12:00", "13:30"), zone: "Europe/London", t: "2026-06-11T12:10:00+01:00", wantInside: true, wantEnd: "2026-06-11T13:30:00+01:00"},
		{name: "same-day window outside", q: quiet("12:00", "13:30"), zone: "Europe/London", t: "2026-06-11T22:00:00+01:00"},
		{name: "night over spring forward", q: night, zone: "America/New_York", t: "2026-03-07T22:00:00-05:00", wantInside: true, wantEnd: "2026-03-08T08:00:00-04:00"},
		{name: "night over fall back", q: night, zone: "America/New_York", t: "2026-10-31T22:00:00-04:00", wantInside: true, wantEnd: "2026-11-01T08:00:00-05:00"},
		{name: "end in spring-forward gap ends at the jump", q: quiet("00:00", "02:30"), zone: "America/New_York", t: "2026-03-08T01:30:00-05:00", wantInside: true, wantEnd: "2026-03-08T03:00:00-04:00"},
		{name: "end in repeated hour, first pass", q: quiet("00:00", "01:30"), zone: "America/New_York", t: "2026-11-01T01:15:00-04:00", wantInside: true, wantEnd: "2026-11-01T01:30:00-04:00"},
		{name: "end in repeated hour, second pass", q: quiet("00:00", "01:30"), zone: "America/New_York", t: "2026-11-01T01:15:00-05:00", wantInside: true, wantEnd: "2026-11-01T01:30:00-05:00"},
		{name: "half-hour zone", q: quiet("22:00", "07:30"), zone: "Asia/Kolkata", t: "2026-01-15T23:00:00+05:30", wantInside: true, wantEnd: "2026-01-16T07:30:00+05:30"},
		{name: "southern DST ends overnight", q: night, zone: "Australia/Sydney", t: "2026-04-04T23:00:00+11:00", wantInside: true, wantEnd: "2026-04-05T08:00:00+10:00"},
		{name: "nil location is UTC", q: night, zone: "", t: "2026-06-10T22:00:00Z", wantInside: true, wantEnd: "2026-06-11T08:00:00Z"},
		{name: "end minute 1440 is midnight", q: beckon.QuietHours{Enabled: true, StartMinute: hm("21:00"), EndMinute: 1440}, zone: "UTC", t: "2026-06-10T23:00:00Z", wantInside: true, wantEnd: "2026-06-11T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var loc *time.Location
			if tt.zone != "" {
				loc = zone(t, tt.zone)
			}
			end, inside := QuietUntil(tt.q, loc, at(t, tt.t))
			if inside != tt.wantInside {
				t.Fatalf("QuietUntil(%s) inside = %v, want %v", tt.t, inside, tt.wantInside)
			}
			if !inside {
				if !end.IsZero() {
					t.Errorf("QuietUntil(%s) end = %s outside the window, want zero", tt.t, end)
				}
				return
			}
			if want := at(t, tt.wantEnd); !end.Equal(want) || end.Location() != time.UTC {
				t.Errorf("QuietUntil(%s) end = %s, want %s in UTC", tt.t, end, want.UTC())
			}
		})
	}
}

func TestQuietStart(t *testing.T) {
	t.Parallel()
	night := quiet("21:00", "08:00")
	tests := []struct {
		name string
		q    beckon.QuietHours
		zone string
		t    string
		want string
	}{
		{name: "same evening", q: night, zone: "America/New_York", t: "2026-06-10T23:30:00-04:00", want: "2026-06-10T21:00:00-04:00"},
		{name: "at start", q: night, zone: "America/New_York", t: "2026-06-10T21:00:00-04:00", want: "2026-06-10T21:00:00-04:00"},
		{name: "after midnight", q: night, zone: "America/New_York", t: "2026-06-11T03:00:00-04:00", want: "2026-06-10T21:00:00-04:00"},
		{name: "over spring forward", q: night, zone: "America/New_York", t: "2026-03-08T07:00:00-04:00", want: "2026-03-07T21:00:00-05:00"},
		{name: "over fall back", q: night, zone: "America/New_York", t: "2026-11-01T07:00:00-05:00", want: "2026-10-31T21:00:00-04:00"},
		{name: "start in spring-forward gap begins at the jump", q: quiet("02:30", "05:00"), zone: "America/New_York", t: "2026-03-08T04:00:00-04:00", want: "2026-03-08T03:00:00-04:00"},
		{name: "start in repeated hour is the first pass", q: quiet("01:00", "05:00"), zone: "America/New_York", t: "2026-11-01T01:30:00-05:00", want: "2026-11-01T01:00:00-04:00"},
		{name: "half-hour zone", q: quiet("22:00", "07:30"), zone: "Asia/Kolkata", t: "2026-01-16T06:00:00+05:30", want: "2026-01-15T22:00:00+05:30"},
		{name: "outside returns t", q: night, zone: "America/New_York", t: "2026-06-11T12:00:00-04:00", want: "2026-06-11T12:00:00-04:00"},
		{name: "disabled returns t", q: beckon.QuietHours{StartMinute: hm("21:00"), EndMinute: hm("08:00")}, zone: "America/New_York", t: "2026-06-11T03:00:00-04:00", want: "2026-06-11T03:00:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := QuietStart(tt.q, zone(t, tt.zone), at(t, tt.t))
			if want := at(t, tt.want); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("QuietStart(%s) = %s, want %s in UTC", tt.t, got, want.UTC())
			}
		})
	}
}

func TestLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		clinic, patient string
		want            string
	}{
		{name: "patient zone wins", clinic: "America/New_York", patient: "America/Los_Angeles", want: "America/Los_Angeles"},
		{name: "clinic zone when patient has none", clinic: "America/New_York", want: "America/New_York"},
		{name: "UTC when neither has one", want: "UTC"},
		{name: "unknown patient zone falls back to clinic", clinic: "Europe/London", patient: "Mars/Olympus_Mons", want: "Europe/London"},
		{name: "unknown zones fall back to UTC", clinic: "Nowhere/Else", patient: "Mars/Olympus_Mons", want: "UTC"},
		{name: "Local is not a zone", clinic: "Local", patient: "Local", want: "UTC"},
		{name: "path-like names are refused", clinic: "../../etc/passwd", want: "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Location(beckon.Clinic{TimeZone: tt.clinic}, beckon.Patient{TimeZone: tt.patient})
			if got.String() != tt.want {
				t.Errorf("Location(clinic %q, patient %q) = %s, want %s", tt.clinic, tt.patient, got, tt.want)
			}
		})
	}
}
