package api

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"

	"github.com/beckonhealth/beckon/ehr"
)

// validPhone reports whether s is a valid phone number written in E.164.
func validPhone(s string) error {
	if !strings.HasPrefix(s, "+") {
		return fmt.Errorf("must be E.164, e.g. +14155550123")
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		return fmt.Errorf("must be E.164, e.g. +14155550123")
	}
	if !phonenumbers.IsValidNumber(n) {
		return fmt.Errorf("is not a valid phone number")
	}
	if phonenumbers.Format(n, phonenumbers.E164) != s {
		return fmt.Errorf("must be E.164 without spaces or punctuation, e.g. %s", phonenumbers.Format(n, phonenumbers.E164))
	}
	return nil
}

// validEmail accepts a bare address (no display name).
func validEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		return fmt.Errorf("is not a valid email address")
	}
	return nil
}

// validZone accepts IANA zone names (not "Local").
func validZone(s string) error {
	if s == "" || s == "Local" {
		return fmt.Errorf("must be an IANA time zone, e.g. America/New_York")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return fmt.Errorf("unknown time zone; use an IANA name, e.g. America/New_York")
	}
	return nil
}

// normalLanguage returns the lowercase primary BCP 47 tag of s ("es-MX" → "es").
func normalLanguage(s string) (string, error) {
	t, err := language.Parse(s)
	if err != nil {
		return "", fmt.Errorf("must be a BCP 47 language tag, e.g. en or es-MX")
	}
	base, _ := t.Base()
	return base.String(), nil
}

// parseInstant parses an RFC 3339 time that carries its offset, inside the
// window every entrance holds instants to (ehr.CheckInstant).
func parseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("must be an RFC 3339 time with an offset, e.g. 2026-03-09T10:00:00-04:00")
	}
	if err := ehr.CheckInstant(t); err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// parseDuration parses Go durations plus whole days ("3d", "-1d12h").
func parseDuration(s string) (time.Duration, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg = s[0] == '-'
		s = s[1:]
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n > 366 {
			return 0, fmt.Errorf("%q is not a duration like -72h, -90m, 3d or 1h30m", orig)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration like -72h, -90m, 3d or 1h30m", orig)
		}
		rest = d
	} else if days == 0 {
		return 0, fmt.Errorf("%q is not a duration like -72h, -90m, 3d or 1h30m", orig)
	}
	d := days + rest
	if neg {
		d = -d
	}
	return d, nil
}

// formatDuration writes d as parseDuration reads it ("-72h0m0s" → "-72h").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatOffset writes a step's offset with its sign, as a client must send it
// ("+2h", "-72h").
func formatOffset(d time.Duration) string {
	if d >= 0 {
		return "+" + formatDuration(d)
	}
	return formatDuration(d)
}

// parseClock parses "HH:MM" into minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("must be a local time HH:MM, e.g. 09:00")
	}
	return t.Hour()*60 + t.Minute(), nil
}

func formatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
