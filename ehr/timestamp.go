package ehr

import (
	"errors"
	"strings"
	"time"
)

// Precision is how much of a timestamp was sent.
type Precision int

// Precisions from a year alone to fractions of a second.
const (
	PrecisionYear Precision = iota + 1
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
	PrecisionFraction
)

var errTimestamp = errors.New("not an HL7 timestamp (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ])")

// ParseTimestamp reads an HL7 TS/DTM value,
// YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]. Missing parts are the start of the
// period (month 1, day 1, 00:00:00). A value with an offset is that instant;
// one without is wall-clock time in loc (a wall time skipped or repeated by a
// daylight-saving change resolves as [time.Date] does). So "20240315093000"
// in America/New_York and "20240315093000-0400" are equal instants.
//
// The error never quotes the value.
func ParseTimestamp(s string, loc *time.Location) (time.Time, Precision, error) {
	if loc == nil {
		return time.Time{}, 0, errors.New("no time zone given for timestamps without an offset")
	}
	s = strings.TrimSpace(s)
	var offset string
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		s, offset = s[:i], s[i:]
	}
	main, frac, hasFrac := strings.Cut(s, ".")
	if !allDigits(main) || (hasFrac && (len(main) != 14 || frac == "" || len(frac) > 9 || !allDigits(frac))) {
		return time.Time{}, 0, errTimestamp
	}
	var p Precision
	switch len(main) {
	case 4:
		p = PrecisionYear
	case 6:
		p = PrecisionMonth
	case 8:
		p = PrecisionDay
	case 10:
		p = PrecisionHour
	case 12:
		p = PrecisionMinute
	case 14:
		p = PrecisionSecond
	default:
		return time.Time{}, 0, errTimestamp
	}
	if hasFrac {
		p = PrecisionFraction
	}
	part := func(from, to, def int) int {
		if len(main) < to {
			return def
		}
		return atoi(main[from:to])
	}
	year, month, day := part(0, 4, 0), part(4, 6, 1), part(6, 8, 1)
	hour, minute, sec := part(8, 10, 0), part(10, 12, 0), part(12, 14, 0)
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, 0, errTimestamp
	}
	nsec := 0
	if hasFrac {
		nsec = atoi(frac)
		for k := len(frac); k < 9; k++ {
			nsec *= 10
		}
	}
	if offset != "" {
		if len(offset) != 5 || !allDigits(offset[1:]) {
			return time.Time{}, 0, errTimestamp
		}
		oh, om := atoi(offset[1:3]), atoi(offset[3:5])
		if oh > 14 || om > 59 {
			return time.Time{}, 0, errTimestamp
		}
		secs := oh*3600 + om*60
		if offset[0] == '-' {
			secs = -secs
		}
		loc = time.FixedZone("", secs)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), p, nil
}

// FormatTimestamp writes t as an HL7 DTM to the second with its offset,
// YYYYMMDDHHMMSS+ZZZZ.
func FormatTimestamp(t time.Time) string {
	return t.Format("20060102150405-0700")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi reads a short run of ASCII digits already checked by allDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// The window of instants Beckon accepts (see CheckInstant).
var (
	earliestInstant = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	latestInstant   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ErrInstantRange is CheckInstant's error; its text follows the field's name.
var ErrInstantRange = errors.New("is outside the years 1900 to 2199")

// CheckInstant is the one rule for every instant an EHR or client sends that
// Beckon keeps or plans from (an appointment's start and end, a message or
// update time), at every entrance (REST, batch, FHIR, HL7): it must lie from
// 1900-01-01 up to 2200-01-01 UTC. Every time derived from such an instant (a
// due time at most a year or so away) stays inside the years 0 to 9999 that
// RFC 3339, JSON and both databases can represent.
func CheckInstant(t time.Time) error {
	if t.Before(earliestInstant) || !t.Before(latestInstant) {
		return ErrInstantRange
	}
	return nil
}

// ParseInstant is ParseTimestamp for an instant Beckon keeps (see
// CheckInstant); the error is errTimestamp or ErrInstantRange.
func ParseInstant(s string, loc *time.Location) (time.Time, Precision, error) {
	t, p, err := ParseTimestamp(s, loc)
	if err != nil {
		return t, p, err
	}
	if err := CheckInstant(t); err != nil {
		return time.Time{}, 0, err
	}
	return t, p, nil
}

// timestampReason is the reason an ERR gives for a bad timestamp named what.
func timestampReason(what string, err error) string {
	if errors.Is(err, ErrInstantRange) {
		return what + " " + ErrInstantRange.Error()
	}
	return what + " is not a valid timestamp"
}
