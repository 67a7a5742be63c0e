package scheduler

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
)

// Reasons Plan records on a send. A skipped send carries the reason it will
// not go; a planned send whose time was moved out of quiet hours says so.
const (
	ReasonPastDue          = "due time had passed when planned"
	ReasonConfirmed        = "appointment confirmed"
	ReasonChangeRequested  = "patient asked to cancel or reschedule"
	ReasonUnderWay         = "appointment already under way"
	ReasonQuietNoTime      = "quiet hours leave no time before the appointment"
	ReasonQuietMovedLater  = "moved out of quiet hours, to their end"
	ReasonQuietMovedBefore = "moved out of quiet hours, to before they began, ahead of the appointment"
	ReasonInvalidTiming    = "invalid step timing"
	ReasonOutOfRange       = "due time or appointment start outside the years 1900 to 2199"
)

// PlanInput is everything Plan needs; Campaigns are the clinic's campaigns
// (inactive ones are ignored).
type PlanInput struct {
	Clinic      beckon.Clinic
	Patient     beckon.Patient
	Appointment beckon.Appointment
	Campaigns   []beckon.Campaign
	Now         time.Time
}

// Plan returns the sends for the appointment, deterministic, ordered by DueAt
// then ID. It is pure: the same input always gives the same sends.
//
// A cancelled or no-show appointment gets none (nil). Every step of every
// active campaign whose Match and the step's own Match both fit the
// appointment gets one send, planned or skipped with its Reason:
//
//   - Due time, in Location(clinic, patient): TimingOffset is Start plus
//     Offset, an absolute duration. TimingDay is AtMinute (0..1439) minutes after
//     local midnight on the local date of Start plus Day days, by the wall
//     clock, so "09:00 the day before" is 09:00 local across a daylight-saving
//     change. A wall time that does not exist (in a spring-forward gap) is
//     resolved as time.Date does: with the offset in force after the jump, so
//     02:30 on 2026-03-08 in New York is 06:30Z, which reads 01:30 EST. A wall
//     time that occurs twice (fall back) is its first occurrence.
//   - BeforeStart: the due time is before the appointment's Start.
//   - Quiet hours (the clinic's, in the same zone): a due time inside the window
//     moves to the window's end. A reminder (BeforeStart) whose end would not be
//     before Start moves instead to one minute before the window began, or is
//     skipped (ReasonQuietNoTime) when that is before Now. A moved send stays
//     planned with a Reason saying why it moved.
//   - Skipped, in this order of precedence: a reminder when the appointment is
//     arrived or fulfilled (ReasonUnderWay); an OnlyIfUnconfirmed step when the
//     appointment is confirmed (ReasonConfirmed); a reminder quiet hours leave
//     no time for (ReasonQuietNoTime); a final due time before Now
//     (ReasonPastDue); a step whose timing is unknown or out of range
//     (ReasonInvalidTiming, due at Start); a step whose due time, or whose
//     appointment's Start, lies outside the window of ehr.CheckInstant
//     (ReasonOutOfRange, due at Now: such a time cannot be kept or shown).
//
// A skipped send's DueAt is the time it would have had (for ReasonQuietNoTime,
// the unmoved one; for ReasonOutOfRange, Now). DueAt, CreatedAt and UpdatedAt are in UTC; CreatedAt and
// UpdatedAt are Now. When two steps would give the same send id (a step id
// repeated in a campaign, or a campaign listed twice), the first one is kept.
func Plan(in PlanInput) []beckon.Send {
	a := in.Appointment
	if a.Status.Ended() {
		return nil
	}
	loc := Location(in.Clinic, in.Patient)
	now := in.Now.UTC()
	var sends []beckon.Send
	for _, c := range in.Campaigns {
		if !c.Active || !matches(c.Match, a) {
			continue
		}
		for _, step := range c.Steps {
			if !matches(step.Match, a) {
				continue
			}
			s := planStep(in, loc, now, c, step)
			if slices.ContainsFunc(sends, func(o beckon.Send) bool { return o.ID == s.ID }) {
				continue
			}
			sends = append(sends, s)
		}
	}
	slices.SortFunc(sends, func(x, y beckon.Send) int {
		return cmp.Or(x.DueAt.Compare(y.DueAt), strings.Compare(x.ID, y.ID))
	})
	return sends
}

// planStep returns the send of one matching step.
func planStep(in PlanInput, loc *time.Location, now time.Time, c beckon.Campaign, step beckon.Step) beckon.Send {
	a := in.Appointment
	s := beckon.Send{
		ID:                 SendID(in.Clinic.ID, a.ID, a.Version, c.ID, c.Revision, step.ID),
		ClinicID:           in.Clinic.ID,
		AppointmentID:      a.ID,
		AppointmentVersion: a.Version,
		PatientID:          a.PatientID,
		CampaignID:         c.ID,
		CampaignRevision:   c.Revision,
		StepID:             step.ID,
		Channel:            step.Channel,
		Template:           step.Template,
		OnlyIfUnconfirmed:  step.OnlyIfUnconfirmed,
		Status:             beckon.SendPlanned,
		CreatedAt:          now,
		UpdatedAt:          now,
	}
	if ehr.CheckInstant(a.Start) != nil {
		s.DueAt, s.Status, s.Reason = now, beckon.SendSkipped, ReasonOutOfRange
		return s
	}
	due, ok := dueTime(step.Timing, a.Start, loc)
	if !ok {
		s.DueAt = a.Start.UTC()
		s.Status, s.Reason = beckon.SendSkipped, ReasonInvalidTiming
		return s
	}
	if ehr.CheckInstant(due) != nil {
		s.DueAt, s.Status, s.Reason = now, beckon.SendSkipped, ReasonOutOfRange
		return s
	}
	s.DueAt = due.UTC()
	s.BeforeStart = due.Before(a.Start)

	noTime := false
	if end, inside := QuietUntil(in.Clinic.QuietHours, loc, due); inside {
		switch {
		case !s.BeforeStart || end.Before(a.Start):
			s.DueAt, s.Reason = end, ReasonQuietMovedLater
		default:
			earlier := beforeQuiet(in.Clinic.QuietHours, loc, due)
			if earlier.Before(now) {
				noTime = true
			} else {
				s.DueAt, s.Reason = earlier, ReasonQuietMovedBefore
			}
		}
	}

	switch {
	case s.BeforeStart && (a.Status == beckon.StatusArrived || a.Status == beckon.StatusFulfilled):
		s.Status, s.Reason = beckon.SendSkipped, ReasonUnderWay
	case step.OnlyIfUnconfirmed && a.Confirmation == beckon.Confirmed:
		s.Status, s.Reason = beckon.SendSkipped, ReasonConfirmed
	case step.OnlyIfUnconfirmed && (a.Confirmation == beckon.ResponseCancelRequested || a.Confirmation == beckon.ResponseRescheduleRequested):
		s.Status, s.Reason = beckon.SendSkipped, ReasonChangeRequested
	case noTime:
		s.Status, s.Reason = beckon.SendSkipped, ReasonQuietNoTime
	case s.DueAt.Before(now):
		s.Status, s.Reason = beckon.SendSkipped, ReasonPastDue
	}
	return s
}

// dueTime returns when a step with timing t is due for an appointment starting
// at start, and false when the timing is unknown or out of range.
func dueTime(t beckon.Timing, start time.Time, loc *time.Location) (time.Time, bool) {
	switch t.Kind {
	case beckon.TimingOffset:
		return start.Add(t.Offset), true
	case beckon.TimingDay:
		if t.AtMinute < 0 || t.AtMinute >= minutesPerDay {
			return time.Time{}, false
		}
		y, mo, d := start.In(loc).Date()
		return time.Date(y, mo, d+t.Day, t.AtMinute/60, t.AtMinute%60, 0, 0, loc), true
	}
	return time.Time{}, false
}

// beforeQuiet returns one minute before the quiet window containing t began.
func beforeQuiet(q beckon.QuietHours, loc *time.Location, t time.Time) time.Time {
	earlier := QuietStart(q, loc, t).Add(-time.Minute)
	// The minute before a window's start is outside it, except when the start's
	// wall time was skipped by a daylight-saving jump and the window covers the
	// time just before the jump; then the window began earlier still.
	for range 4 {
		if _, inside := QuietUntil(q, loc, earlier); !inside {
			break
		}
		earlier = QuietStart(q, loc, earlier).Add(-time.Minute)
	}
	return earlier
}

// matches reports whether m admits the appointment: each non-empty list must
// contain the appointment's value, compared without regard to case.
func matches(m beckon.Match, a beckon.Appointment) bool {
	return matchList(m.Types, a.Type) && matchList(m.Providers, a.Provider) && matchList(m.Locations, a.Location)
}

func matchList(list []string, v string) bool {
	return len(list) == 0 || slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}
