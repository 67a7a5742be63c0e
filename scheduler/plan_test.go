package scheduler

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// planBundle is a plan input with one clinic, patient and appointment, no
// campaigns and quiet hours off: each test sets what it cares about.
type planBundle struct {
	in PlanInput
}

func setup(t testing.TB) *planBundle {
	t.Helper()
	return &planBundle{in: PlanInput{
		Clinic: beckon.Clinic{
			ID:       "cln_1",
			TimeZone: "America/New_York",
		},
		Patient: beckon.Patient{
			ClinicID: "cln_1",
			ID:       "pat_1",
		},
		Appointment: beckon.Appointment{
			ClinicID:     "cln_1",
			ID:           "apt_1",
			PatientID:    "pat_1",
			Start:        at(t, "2026-06-11T14:00:00-04:00"),
			Status:       beckon.StatusBooked,
			Confirmation: beckon.Unconfirmed,
			Version:      3,
		},
		Now: at(t, "2026-01-01T00:00:00Z"),
	}}
}

// campaign is an active campaign with the given steps.
func campaign(id string, steps ...beckon.Step) beckon.Campaign {
	return beckon.Campaign{
		ClinicID: "cln_1",
		ID:       id,
		Name:     id,
		Active:   true,
		Steps:    steps,
		Revision: 2,
	}
}

func offset(id string, d time.Duration) beckon.Step {
	return beckon.Step{
		ID:       id,
		Timing:   beckon.Timing{Kind: beckon.TimingOffset, Offset: d},
		Channel:  beckon.ChannelSMS,
		Template: "reminder",
	}
}

func dayAt(id string, day int, clock string) beckon.Step {
	return beckon.Step{
		ID:       id,
		Timing:   beckon.Timing{Kind: beckon.TimingDay, Day: day, AtMinute: hm(clock)},
		Channel:  beckon.ChannelSMS,
		Template: "reminder",
	}
}

// planned is the part of a send most tests check.
type planned struct {
	step        string
	due         string // RFC 3339
	beforeStart bool
	status      beckon.SendStatus
	reason      string
}

func checkPlan(t *testing.T, got []beckon.Send, want []planned) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Plan gave %d sends, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.StepID != w.step || !g.DueAt.Equal(at(t, w.due)) || g.BeforeStart != w.beforeStart || g.Status != w.status || g.Reason != w.reason {
			t.Errorf("send %d = {step %q, due %s, beforeStart %v, %s %q},\n       want {step %q, due %s, beforeStart %v, %s %q}",
				i, g.StepID, g.DueAt.Format(time.RFC3339), g.BeforeStart, g.Status, g.Reason,
				w.step, at(t, w.due).UTC().Format(time.RFC3339), w.beforeStart, w.status, w.reason)
		}
		if g.DueAt.Location() != time.UTC {
			t.Errorf("send %d DueAt %s is not in UTC", i, g.DueAt)
		}
	}
}

func TestPlanTiming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		zone  string // the clinic's
		start string
		step  beckon.Step
		want  planned
	}{
		// America/New_York springs forward 2026-03-08 02:00 EST → 03:00 EDT.
		{"offset across spring forward keeps the duration", "America/New_York", "2026-03-08T15:00:00-04:00", offset("s", -24*time.Hour),
			planned{"s", "2026-03-07T14:00:00-05:00", true, beckon.SendPlanned, ""}},
		{"day-at across spring forward keeps the wall clock", "America/New_York", "2026-03-08T15:00:00-04:00", dayAt("s", -1, "15:00"),
			planned{"s", "2026-03-07T15:00:00-05:00", true, beckon.SendPlanned, ""}},
		{"day-at in the spring-forward gap resolves as time.Date", "America/New_York", "2026-03-08T15:00:00-04:00", dayAt("s", 0, "02:30"),
			planned{"s", "2026-03-08T01:30:00-05:00", true, beckon.SendPlanned, ""}},
		// America/New_York falls back 2026-11-01 02:00 EDT → 01:00 EST.
		{"offset across fall back keeps the duration", "America/New_York", "2026-11-01T15:00:00-05:00", offset("s", -24*time.Hour),
			planned{"s", "2026-10-31T16:00:00-04:00", true, beckon.SendPlanned, ""}},
		{"day-at across fall back keeps the wall clock", "America/New_York", "2026-11-01T15:00:00-05:00", dayAt("s", -1, "09:00"),
			planned{"s", "2026-10-31T09:00:00-04:00", true, beckon.SendPlanned, ""}},
		{"day-at in the repeated hour is its first pass", "America/New_York", "2026-11-01T15:00:00-05:00", dayAt("s", 0, "01:30"),
			planned{"s", "2026-11-01T01:30:00-04:00", true, beckon.SendPlanned, ""}},
		{"day-at uses the start's local date, not its UTC date", "America/New_York", "2026-06-11T21:30:00-04:00", dayAt("s", -1, "09:00"),
			planned{"s", "2026-06-10T09:00:00-04:00", true, beckon.SendPlanned, ""}},
		// Europe/London: BST from 2026-03-29 01:00 UTC.
		{"London day-at before BST", "Europe/London", "2026-03-30T10:00:00+01:00", dayAt("s", -2, "18:00"),
			planned{"s", "2026-03-28T18:00:00Z", true, beckon.SendPlanned, ""}},
		{"London offset across BST", "Europe/London", "2026-03-30T10:00:00+01:00", offset("s", -48*time.Hour),
			planned{"s", "2026-03-28T09:00:00Z", true, beckon.SendPlanned, ""}},
		// Australia/Sydney: AEDT ends 2026-04-05 03:00 → 02:00; starts 2026-10-04 02:00 → 03:00.
		{"Sydney day-at after DST ends", "Australia/Sydney", "2026-04-06T09:00:00+10:00", dayAt("s", -1, "09:00"),
			planned{"s", "2026-04-05T09:00:00+10:00", true, beckon.SendPlanned, ""}},
		{"Sydney day-at before DST ends", "Australia/Sydney", "2026-04-06T09:00:00+10:00", dayAt("s", -2, "09:00"),
			planned{"s", "2026-04-04T09:00:00+11:00", true, beckon.SendPlanned, ""}},
		{"Sydney offset across DST start", "Australia/Sydney", "2026-10-05T09:00:00+11:00", offset("s", -48*time.Hour),
			planned{"s", "2026-10-03T08:00:00+10:00", true, beckon.SendPlanned, ""}},
		// Asia/Kolkata: +05:30, no DST.
		{"Kolkata day-at", "Asia/Kolkata", "2026-05-20T10:30:00+05:30", dayAt("s", -1, "18:30"),
			planned{"s", "2026-05-19T18:30:00+05:30", true, beckon.SendPlanned, ""}},
		{"Kolkata offset", "Asia/Kolkata", "2026-05-20T10:30:00+05:30", offset("s", -90*time.Minute),
			planned{"s", "2026-05-20T09:00:00+05:30", true, beckon.SendPlanned, ""}},
		{"follow-up offset", "America/New_York", "2026-06-11T14:00:00-04:00", offset("s", 2*time.Hour),
			planned{"s", "2026-06-11T16:00:00-04:00", false, beckon.SendPlanned, ""}},
		{"follow-up day-at", "America/New_York", "2026-06-11T14:00:00-04:00", dayAt("s", 1, "10:00"),
			planned{"s", "2026-06-12T10:00:00-04:00", false, beckon.SendPlanned, ""}},
		{"due at start is not a reminder", "America/New_York", "2026-06-11T14:00:00-04:00", offset("s", 0),
			planned{"s", "2026-06-11T14:00:00-04:00", false, beckon.SendPlanned, ""}},
		{"unknown clinic zone is UTC", "Nowhere/Else", "2026-06-11T14:00:00Z", dayAt("s", -1, "09:00"),
			planned{"s", "2026-06-10T09:00:00Z", true, beckon.SendPlanned, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.in.Clinic.TimeZone = tt.zone
			b.in.Appointment.Start = at(t, tt.start).UTC()
			b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", tt.step)}
			checkPlan(t, Plan(b.in), []planned{tt.want})
		})
	}
}

func TestPlanQuietHours(t *testing.T) {
	t.Parallel()
	night := quiet("21:00", "08:00")
	tests := []struct {
		name        string
		q           beckon.QuietHours
		patientZone string // clinic is America/New_York
		start, now  string
		step        beckon.Step
		want        planned
	}{
		{"reminder moved to the end", night, "", "2026-06-11T14:00:00-04:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "22:00"),
			planned{"s", "2026-06-11T08:00:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"reminder after midnight moved to the end", night, "", "2026-06-11T09:00:00-04:00", "2026-06-01T00:00:00Z", offset("s", -2*time.Hour),
			planned{"s", "2026-06-11T08:00:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"reminder moved before the window when its end is past the start", night, "", "2026-06-11T07:45:00-04:00", "2026-06-01T00:00:00Z", offset("s", -2*time.Hour),
			planned{"s", "2026-06-10T20:59:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedBefore}},
		{"reminder moved before the window when its end is the start", night, "", "2026-06-11T08:00:00-04:00", "2026-06-01T00:00:00Z", offset("s", -1*time.Hour),
			planned{"s", "2026-06-10T20:59:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedBefore}},
		{"reminder skipped when before the window is already past", night, "", "2026-06-11T07:45:00-04:00", "2026-06-10T22:00:00-04:00", offset("s", -2*time.Hour),
			planned{"s", "2026-06-11T05:45:00-04:00", true, beckon.SendSkipped, ReasonQuietNoTime}},
		{"reminder moved before the window exactly at now", night, "", "2026-06-11T07:45:00-04:00", "2026-06-10T20:59:00-04:00", offset("s", -2*time.Hour),
			planned{"s", "2026-06-10T20:59:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedBefore}},
		{"follow-up moved to the end over midnight", night, "", "2026-06-11T19:00:00-04:00", "2026-06-01T00:00:00Z", offset("s", 3*time.Hour),
			planned{"s", "2026-06-12T08:00:00-04:00", false, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"follow-up moved to the end, then past due", night, "", "2026-06-11T19:00:00-04:00", "2026-06-12T09:00:00-04:00", offset("s", 3*time.Hour),
			planned{"s", "2026-06-12T08:00:00-04:00", false, beckon.SendSkipped, ReasonPastDue}},
		{"moved over spring forward", night, "", "2026-03-08T10:00:00-04:00", "2026-03-01T00:00:00Z", dayAt("s", -1, "23:00"),
			planned{"s", "2026-03-08T08:00:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"moved over fall back", night, "", "2026-11-01T10:00:00-05:00", "2026-10-01T00:00:00Z", dayAt("s", -1, "23:00"),
			planned{"s", "2026-11-01T08:00:00-05:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"outside the window unmoved", night, "", "2026-06-11T14:00:00-04:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "20:59"),
			planned{"s", "2026-06-10T20:59:00-04:00", true, beckon.SendPlanned, ""}},
		{"disabled", beckon.QuietHours{StartMinute: hm("21:00"), EndMinute: hm("08:00")}, "", "2026-06-11T14:00:00-04:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "22:00"),
			planned{"s", "2026-06-10T22:00:00-04:00", true, beckon.SendPlanned, ""}},
		{"start equals end is disabled", quiet("21:00", "21:00"), "", "2026-06-11T14:00:00-04:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "22:00"),
			planned{"s", "2026-06-10T22:00:00-04:00", true, beckon.SendPlanned, ""}},
		{"same-day window", quiet("12:00", "13:00"), "", "2026-06-11T18:00:00-04:00", "2026-06-01T00:00:00Z", offset("s", -5*time.Hour-30*time.Minute),
			planned{"s", "2026-06-11T13:00:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"patient zone: day-at and quiet hours in Los Angeles", night, "America/Los_Angeles", "2026-06-11T13:00:00-07:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "22:00"),
			planned{"s", "2026-06-11T08:00:00-07:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"patient zone: quiet for the patient though not for the clinic", night, "America/Los_Angeles", "2026-06-11T13:00:00-07:00", "2026-06-01T00:00:00Z", offset("s", -8*time.Hour),
			planned{"s", "2026-06-11T08:00:00-07:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
		{"patient zone: quiet for the clinic though not for the patient", night, "America/Los_Angeles", "2026-06-11T13:00:00-07:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "19:00"),
			planned{"s", "2026-06-10T19:00:00-07:00", true, beckon.SendPlanned, ""}},
		{"unknown patient zone uses the clinic's", night, "Mars/Olympus_Mons", "2026-06-11T14:00:00-04:00", "2026-06-01T00:00:00Z", dayAt("s", -1, "22:00"),
			planned{"s", "2026-06-11T08:00:00-04:00", true, beckon.SendPlanned, ReasonQuietMovedLater}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.in.Clinic.QuietHours = tt.q
			b.in.Patient.TimeZone = tt.patientZone
			b.in.Appointment.Start = at(t, tt.start).UTC()
			b.in.Now = at(t, tt.now)
			b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", tt.step)}
			checkPlan(t, Plan(b.in), []planned{tt.want})
		})
	}
}

func TestPlanStatus(t *testing.T) {
	t.Parallel()
	// The appointment starts 2026-06-11T14:00:00-04:00; Now is well before.
	reminder := dayAt("remind", -1, "09:00")
	onlyUnconfirmed := dayAt("confirm-ask", -2, "09:00")
	onlyUnconfirmed.OnlyIfUnconfirmed = true
	followUp := offset("survey", 3*time.Hour)
	steps := []beckon.Step{reminder, onlyUnconfirmed, followUp}

	tests := []struct {
		name         string
		status       beckon.AppointmentStatus
		confirmation string
		now          string
		want         []planned
	}{
		{"booked and unconfirmed", beckon.StatusBooked, beckon.Unconfirmed, "2026-06-01T00:00:00Z", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendPlanned, ""},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendPlanned, ""},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"confirmed skips only-if-unconfirmed", beckon.StatusBooked, beckon.Confirmed, "2026-06-01T00:00:00Z", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendSkipped, ReasonConfirmed},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendPlanned, ""},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"empty confirmation counts as unconfirmed", beckon.StatusBooked, "", "2026-06-01T00:00:00Z", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendPlanned, ""},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendPlanned, ""},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"arrived skips reminders, keeps follow-ups", beckon.StatusArrived, beckon.Confirmed, "2026-06-11T14:05:00-04:00", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendSkipped, ReasonUnderWay},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendSkipped, ReasonUnderWay},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"fulfilled skips reminders, keeps follow-ups", beckon.StatusFulfilled, beckon.Unconfirmed, "2026-06-01T00:00:00Z", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendSkipped, ReasonUnderWay},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendSkipped, ReasonUnderWay},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"past due skipped, due now planned", beckon.StatusBooked, beckon.Unconfirmed, "2026-06-10T09:00:00-04:00", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendSkipped, ReasonPastDue},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendPlanned, ""},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"planned after the appointment began: reminders past due", beckon.StatusBooked, beckon.Unconfirmed, "2026-06-11T15:00:00-04:00", []planned{
			{"confirm-ask", "2026-06-09T09:00:00-04:00", true, beckon.SendSkipped, ReasonPastDue},
			{"remind", "2026-06-10T09:00:00-04:00", true, beckon.SendSkipped, ReasonPastDue},
			{"survey", "2026-06-11T17:00:00-04:00", false, beckon.SendPlanned, ""},
		}},
		{"cancelled", beckon.StatusCancelled, beckon.Unconfirmed, "2026-06-01T00:00:00Z", nil},
		{"no-show", beckon.StatusNoShow, beckon.Unconfirmed, "2026-06-01T00:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.in.Appointment.Status = tt.status
			b.in.Appointment.Confirmation = tt.confirmation
			b.in.Now = at(t, tt.now)
			b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", steps...)}
			got := Plan(b.in)
			if tt.want == nil && got != nil {
				t.Fatalf("Plan = %+v, want nil", got)
			}
			checkPlan(t, got, tt.want)
		})
	}
}

func TestPlanInvalidTiming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		timing beckon.Timing
	}{
		{"empty kind", beckon.Timing{Offset: -time.Hour}},
		{"unknown kind", beckon.Timing{Kind: "weekly"}},
		{"minute past the day", beckon.Timing{Kind: beckon.TimingDay, Day: -1, AtMinute: 1440}},
		{"negative minute", beckon.Timing{Kind: beckon.TimingDay, Day: -1, AtMinute: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			step := offset("s", 0)
			step.Timing = tt.timing
			b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", step)}
			checkPlan(t, Plan(b.in), []planned{{"s", "2026-06-11T14:00:00-04:00", false, beckon.SendSkipped, ReasonInvalidTiming}})
		})
	}
}

func TestPlanMatch(t *testing.T) {
	t.Parallel()
	step := func(id string, m beckon.Match) beckon.Step {
		s := dayAt(id, -1, "09:00")
		s.Match = m
		return s
	}
	tests := []struct {
		name      string
		campaigns func() []beckon.Campaign
		wantSteps []string
	}{
		{"empty lists match all", func() []beckon.Campaign {
			return []beckon.Campaign{campaign("cmp_1", step("a", beckon.Match{}))}
		}, []string{"a"}},
		{"campaign type matches without regard to case", func() []beckon.Campaign {
			c := campaign("cmp_1", step("a", beckon.Match{}))
			c.Match = beckon.Match{Types: []string{"follow-up", "CHECKUP"}}
			return []beckon.Campaign{c}
		}, []string{"a"}},
		{"campaign type differs", func() []beckon.Campaign {
			c := campaign("cmp_1", step("a", beckon.Match{}))
			c.Match = beckon.Match{Types: []string{"surgery"}}
			return []beckon.Campaign{c}
		}, nil},
		{"step provider filters within a matching campaign", func() []beckon.Campaign {
			return []beckon.Campaign{campaign("cmp_1",
				step("dr-a", beckon.Match{Providers: []string{"dr-a"}}),
				step("dr-b", beckon.Match{Providers: []string{"DR-B"}}),
			)}
		}, []string{"dr-b"}},
		{"every non-empty list must match", func() []beckon.Campaign {
			return []beckon.Campaign{campaign("cmp_1",
				step("all", beckon.Match{Types: []string{"checkup"}, Providers: []string{"dr-b"}, Locations: []string{"main st"}}),
				step("wrong-location", beckon.Match{Types: []string{"checkup"}, Providers: []string{"dr-b"}, Locations: []string{"elm st"}}),
			)}
		}, []string{"all"}},
		{"campaign and step both must match", func() []beckon.Campaign {
			c := campaign("cmp_1", step("a", beckon.Match{Types: []string{"checkup"}}))
			c.Match = beckon.Match{Locations: []string{"elm st"}}
			return []beckon.Campaign{c}
		}, nil},
		{"inactive campaign ignored", func() []beckon.Campaign {
			c := campaign("cmp_1", step("a", beckon.Match{}))
			c.Active = false
			return []beckon.Campaign{c, campaign("cmp_2", step("b", beckon.Match{}))}
		}, []string{"b"}},
		{"no campaigns", func() []beckon.Campaign { return nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.in.Appointment.Type = "Checkup"
			b.in.Appointment.Provider = "Dr-B"
			b.in.Appointment.Location = "Main St"
			b.in.Campaigns = tt.campaigns()
			var got []string
			for _, s := range Plan(b.in) {
				got = append(got, s.StepID)
			}
			if !slices.Equal(got, tt.wantSteps) {
				t.Errorf("Plan steps = %q, want %q", got, tt.wantSteps)
			}
		})
	}
}

func TestPlanFillsEveryField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.in.Now = at(t, "2026-06-01T12:00:00+02:00") // not UTC on purpose
	step := dayAt("remind", -1, "09:00")
	step.Channel = beckon.ChannelPreferred
	step.Template = "appointment-reminder"
	step.OnlyIfUnconfirmed = true
	c := campaign("cmp_7", step)
	c.Revision = 5
	b.in.Campaigns = []beckon.Campaign{c}

	got := Plan(b.in)
	now := at(t, "2026-06-01T10:00:00Z")
	want := []beckon.Send{{
		ID:                 SendID("cln_1", "apt_1", 3, "cmp_7", 5, "remind"),
		ClinicID:           "cln_1",
		AppointmentID:      "apt_1",
		AppointmentVersion: 3,
		PatientID:          "pat_1",
		CampaignID:         "cmp_7",
		CampaignRevision:   5,
		StepID:             "remind",
		Channel:            beckon.ChannelPreferred,
		Template:           "appointment-reminder",
		DueAt:              at(t, "2026-06-10T13:00:00Z"),
		BeforeStart:        true,
		OnlyIfUnconfirmed:  true,
		Status:             beckon.SendPlanned,
		CreatedAt:          now,
		UpdatedAt:          now,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", got, want)
	}
}

func TestPlanDeterministicOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Two campaigns, steps out of order, two pairs due at the same instant.
	b.in.Campaigns = []beckon.Campaign{
		campaign("cmp_b", offset("later", 2*time.Hour), dayAt("day-before", -1, "09:00"), offset("same-1", -time.Hour)),
		campaign("cmp_a", offset("same-2", -time.Hour), dayAt("also-day-before", -1, "09:00")),
	}
	got := Plan(b.in)
	if len(got) != 5 {
		t.Fatalf("Plan gave %d sends, want 5", len(got))
	}
	for i := 1; i < len(got); i++ {
		p, q := got[i-1], got[i]
		if p.DueAt.After(q.DueAt) || p.DueAt.Equal(q.DueAt) && p.ID >= q.ID {
			t.Errorf("sends %d and %d out of order: (%s, %s) then (%s, %s)", i-1, i, p.DueAt, p.ID, q.DueAt, q.ID)
		}
	}
	if again := Plan(b.in); !reflect.DeepEqual(got, again) {
		t.Errorf("Plan differs between calls:\n%+v\n%+v", got, again)
	}
	reversed := *b
	reversed.in.Campaigns = slices.Clone(b.in.Campaigns)
	slices.Reverse(reversed.in.Campaigns)
	for i := range reversed.in.Campaigns {
		reversed.in.Campaigns[i].Steps = slices.Clone(reversed.in.Campaigns[i].Steps)
		slices.Reverse(reversed.in.Campaigns[i].Steps)
	}
	if other := Plan(reversed.in); !reflect.DeepEqual(got, other) {
		t.Errorf("Plan depends on the order of campaigns and steps:\n%+v\n%+v", got, other)
	}
}

func TestPlanDuplicateStepKeepsFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", dayAt("s", -1, "09:00"), dayAt("s", -2, "09:00"))}
	checkPlan(t, Plan(b.in), []planned{{"s", "2026-06-10T09:00:00-04:00", true, beckon.SendPlanned, ""}})
}

func BenchmarkPlan(b *testing.B) {
	bundle := setup(b)
	bundle.in.Clinic.QuietHours = beckon.DefaultQuietHours
	bundle.in.Patient.TimeZone = "America/Chicago"
	confirm := dayAt("confirm-ask", -2, "10:00")
	confirm.OnlyIfUnconfirmed = true
	bundle.in.Campaigns = []beckon.Campaign{campaign("cmp_1",
		confirm,
		dayAt("remind-day-before", -1, "22:00"), // in quiet hours: moved
		offset("survey", 2*time.Hour),
	)}
	b.ReportAllocs()
	for b.Loop() {
		if sends := Plan(bundle.in); len(sends) != 3 {
			b.Fatalf("Plan gave %d sends, want 3", len(sends))
		}
	}
}
