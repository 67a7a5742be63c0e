package scheduler

import (
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
)

const minutesPerDay = 24 * 60

// locations memoizes successful time.LoadLocation calls, which read and parse
// the zone database on every call. Only valid IANA names are kept, so the
// cache is bounded by the size of the database whatever the input holds.
var locations sync.Map // string → *time.Location

// Location returns the patient's time zone, else the clinic's, else UTC. An
// empty or unknown zone name (and "Local", which would mean the machine's
// zone) falls through to the next choice.
func Location(c beckon.Clinic, p beckon.Patient) *time.Location {
	if loc := loadLocation(p.TimeZone); loc != nil {
		return loc
	}
	if loc := loadLocation(c.TimeZone); loc != nil {
		return loc
	}
	return time.UTC
}

// loadLocation returns the named IANA zone, or nil when the name is empty,
// "Local" or unknown.
func loadLocation(name string) *time.Location {
	if name == "" || name == "Local" {
		return nil
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	locations.Store(name, loc)
	return loc
}

// quietWindow is a QuietHours made ready for use: minutes normalized into a day.
type quietWindow struct {
	start, end int
}

// window returns q's window and whether it is in force: q must be enabled and
// its start and end must differ. Minutes outside 0..1439 are taken modulo a day
// (1440 is midnight), so a misconfigured window is still enforced, not dropped.
func window(q beckon.QuietHours) (quietWindow, bool) {
	w := quietWindow{start: dayMinute(q.StartMinute), end: dayMinute(q.EndMinute)}
	return w, q.Enabled && w.start != w.end
}

func dayMinute(m int) int {
	m %= minutesPerDay
	if m < 0 {
		m += minutesPerDay
	}
	return m
}

// contains reports whether the wall time of t (already in the zone) is in the window.
func (w quietWindow) contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if w.start < w.end {
		return w.start <= m && m < w.end
	}
	return m >= w.start || m < w.end // wraps midnight
}

// QuietUntil reports whether t falls inside the quiet window q in loc, and if
// so the instant, in UTC, at which the window ends: the first instant after t at
// which loc's wall clock reads q.EndMinute.
//
// Daylight-saving changes: when that wall time is skipped (spring forward), the
// window ends at the jump; when it occurs twice (fall back), the window ends at
// the first occurrence after t. A nil loc means UTC.
func QuietUntil(q beckon.QuietHours, loc *time.Location, t time.Time) (end time.Time, inside bool) {
	w, ok := window(q)
	if !ok {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	if !w.contains(t.In(loc)) {
		return time.Time{}, false
	}
	end = t
	// One pass finds the end. Another is needed only when the end's wall time
	// falls in a spring-forward gap and the jump lands back inside a window
	// that covers all but a few minutes of the day; the bound keeps it finite.
	for range 4 {
		end = nextCrossing(w.end, loc, end)
		if !w.contains(end.In(loc)) {
			break
		}
	}
	return end.UTC(), true
}

// QuietStart returns the instant, in UTC, at which the quiet window containing
// t began: the last instant at or before t at which loc's wall clock read
// q.StartMinute with the clock inside the window ever since. Daylight-saving
// changes are handled as in QuietUntil: a skipped start begins the window at
// the jump, and a repeated one at the occurrence that began the stay. It is
// only meaningful when t is inside the window (see QuietUntil); otherwise it
// returns t in UTC. A nil loc means UTC.
func QuietStart(q beckon.QuietHours, loc *time.Location, t time.Time) time.Time {
	w, ok := window(q)
	if !ok {
		return t.UTC()
	}
	if loc == nil {
		loc = time.UTC
	}
	if !w.contains(t.In(loc)) {
		return t.UTC()
	}
	start, cur := t, t
	// As in QuietUntil, more than one pass is needed only around a
	// daylight-saving change: a repeated hour whose second start is preceded
	// by time still inside the window.
	for range 4 {
		start = prevCrossing(w.start, loc, cur)
		cur = start.Add(-time.Nanosecond)
		if !w.contains(cur.In(loc)) {
			break
		}
	}
	return start.UTC()
}

// nextCrossing returns the earliest instant after t at which loc's wall clock
// reaches minute (of a day) on t's local date or one of the two after it.
func nextCrossing(minute int, loc *time.Location, t time.Time) time.Time {
	y, mo, d := t.In(loc).Date()
	var best time.Time
	for i := range 3 {
		cs, n := crossings(y, mo, d+i, minute, loc)
		for _, c := range cs[:n] {
			if c.After(t) && (best.IsZero() || c.Before(best)) {
				best = c
			}
		}
	}
	if best.IsZero() { // unreachable with real zone data; never return a time before t
		best = t.Add(time.Minute)
	}
	return best
}

// prevCrossing returns the latest instant at or before t at which loc's wall
// clock reaches minute (of a day) on t's local date or one of the two before it.
func prevCrossing(minute int, loc *time.Location, t time.Time) time.Time {
	y, mo, d := t.In(loc).Date()
	var best time.Time
	for i := range 3 {
		cs, n := crossings(y, mo, d-i, minute, loc)
		for _, c := range cs[:n] {
			if !c.After(t) && (best.IsZero() || c.After(best)) {
				best = c
			}
		}
	}
	if best.IsZero() { // unreachable with real zone data; never return a time after t
		best = t
	}
	return best
}

// crossings returns the n instants at which loc's wall clock reaches the given
// date at minute after midnight, in order: one usually; two when that wall time
// is repeated (fall back); and when it is skipped (spring forward), the instant
// of the jump, the first at which the wall clock reads that time or later.
func crossings(y int, mo time.Month, d, minute int, loc *time.Location) (cs [2]time.Time, n int) {
	want := time.Date(y, mo, d, 0, minute, 0, 0, time.UTC) // the wall time, read as UTC
	c := time.Date(y, mo, d, 0, minute, 0, 0, loc)
	zoneStart, zoneEnd := c.ZoneBounds()
	if got := wallAsUTC(c); !got.Equal(want) {
		// Skipped. time.Date applied the offset of one side of the jump;
		// the jump is the bound of the zone period on the other side.
		switch {
		case got.Before(want) && !zoneEnd.IsZero():
			cs[0] = zoneEnd
		case got.After(want) && !zoneStart.IsZero():
			cs[0] = zoneStart
		default:
			cs[0] = c
		}
		return cs, 1
	}
	// Present; look for a second occurrence under a neighbouring period's offset.
	cs[0] = c
	_, offset := c.Zone()
	var neighbours [2]time.Time
	k := 0
	if !zoneStart.IsZero() {
		neighbours[k] = zoneStart.Add(-time.Nanosecond)
		k++
	}
	if !zoneEnd.IsZero() {
		neighbours[k] = zoneEnd
		k++
	}
	for _, nb := range neighbours[:k] {
		_, other := nb.Zone()
		if other == offset {
			continue
		}
		alt := want.Add(-time.Duration(other) * time.Second).In(loc)
		if wallAsUTC(alt).Equal(want) {
			if alt.Before(c) {
				cs[0], cs[1] = alt, c
			} else {
				cs[1] = alt
			}
			return cs, 2
		}
	}
	return cs, 1
}

// wallAsUTC returns t's wall clock reading as if it were UTC.
func wallAsUTC(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, m, s := t.Clock()
	return time.Date(y, mo, d, h, m, s, t.Nanosecond(), time.UTC)
}
