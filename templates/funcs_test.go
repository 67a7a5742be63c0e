package templates

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMessageFuncs(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, time.March, 9, 15, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"upper", func() (string, error) { return upper("María José") }, "MARÍA JOSÉ"},
		{"lower", func() (string, error) { return lower("RIVERSIDE Clinic") }, "riverside clinic"},
		{"title", func() (string, error) { return title("maría-josé o'neil mcdonald") }, "María-José O'Neil Mcdonald"},
		{"title keeps capitals", func() (string, error) { return title("dr. McDonald") }, "Dr. McDonald"},
		{"trim", func() (string, error) { return trim("\t Dr. Patel \n"), nil }, "Dr. Patel"},
		{"default of empty", func() (string, error) { return defaultString("friend", " "), nil }, "friend"},
		{"default of a value", func() (string, error) { return defaultString("friend", "Maria"), nil }, "Maria"},
		{"date", func() (string, error) { return formatDate("Mon Jan 2, 2006 at 3:04 PM", start) }, "Mon Mar 9, 2026 at 3:30 PM"},
		{"date of no start", func() (string, error) { return formatDate("Jan 2", time.Time{}) }, ""},
	} {
		got, err := tc.got()
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// TestMessageFuncsBounded: no function takes or makes a value longer than
// maxValue, even where case mapping lengthens text (ȿ is 2 bytes, Ȿ is 3).
func TestMessageFuncsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxValue+1)
	growing := strings.Repeat("ȿ", maxValue/2)
	for _, tc := range []struct {
		name string
		call func() (string, error)
	}{
		{"upper of a long value", func() (string, error) { return upper(long) }},
		{"lower of a long value", func() (string, error) { return lower(long) }},
		{"title of a long value", func() (string, error) { return title(long) }},
		{"upper that grows past the bound", func() (string, error) { return upper(growing) }},
		{"title that grows past the bound", func() (string, error) { return title(strings.Repeat("ȿ ", maxValue/3)) }},
		{"a long date layout", func() (string, error) { return formatDate(strings.Repeat("1", maxLayout+1), time.Now()) }},
	} {
		if _, err := tc.call(); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", tc.name, err)
		}
	}
	if s, err := upper(strings.Repeat("x", maxValue)); err != nil || len(s) != maxValue {
		t.Errorf("upper of exactly maxValue bytes: %d bytes, %v", len(s), err)
	}
}
