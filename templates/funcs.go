package templates

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds on what a function of message templates makes.
const (
	maxValue  = 4 << 10 // bytes of a string a function takes or returns
	maxLayout = 64      // bytes of a date layout
)

// errValueTooLarge wraps ErrTooLarge for a function's argument or result.
var errValueTooLarge = fmt.Errorf("value %w: more than %d bytes", ErrTooLarge, maxValue)

// messageFuncs are the functions message templates may call besides the
// comparisons and logic of text/template (see allowedBuiltins). None of them
// can make a value much longer than its argument, and each fails on a value
// longer than maxValue, so no template can grow a value by calling them.
var messageFuncs = map[string]any{
	"upper":   upper,
	"lower":   lower,
	"title":   title,
	"trim":    trim,
	"default": defaultString,
	"date":    formatDate,
}

// upper is s in upper case: {{upper .Clinic.Name}}.
func upper(s string) (string, error) { return bounded(s, strings.ToUpper) }

// lower is s in lower case.
func lower(s string) (string, error) { return bounded(s, strings.ToLower) }

// title is s with the first letter of each word in title case and the
// others left as they are: "maria de la o'neil" → "Maria De La O'Neil".
func title(s string) (string, error) { return bounded(s, titleCase) }

// trim is s without surrounding white space.
func trim(s string) string { return strings.TrimSpace(s) }

// defaultString is v, or def when v is only white space:
// {{.Appointment.Provider | default "your care team"}}.
func defaultString(def, v string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// formatDate formats t with a Go layout given as a literal in the template:
// {{.Appointment.Start | date "01/02/2006"}}. Names of months and days are
// English; .Appointment.Date, .Time and .Weekday are in the patient's
// language. A zero time (an appointment without a start) formats as empty.
func formatDate(layout string, t time.Time) (string, error) {
	if len(layout) > maxLayout {
		return "", fmt.Errorf("date layout %w: more than %d bytes", ErrTooLarge, maxLayout)
	}
	if t.IsZero() {
		return "", nil
	}
	// Each element of a layout writes at most a few bytes more than it
	// takes ("1" → "12", "Monday" → "Wednesday"), so the result stays short.
	return t.Format(layout), nil
}

// bounded applies f to s when s and the result are at most maxValue bytes.
func bounded(s string, f func(string) string) (string, error) {
	if len(s) > maxValue {
		return "", errValueTooLarge
	}
	out := f(s)
	if len(out) > maxValue {
		return "", errValueTooLarge
	}
	return out, nil
}

// titleCase upper-cases each letter that follows a character other than a
// letter, digit or underscore (or begins s), as strings.Title did.
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prev := ' '
	for _, r := range s {
		if isSeparator(prev) {
			r = unicode.ToTitle(r)
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func isSeparator(r rune) bool {
	if r < utf8.RuneSelf {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}
