package ehr

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Dr. Ana Rivera", "Dr. Ana Rivera"},
		{"  Main\tStreet \n Clinic\r\n", "Main Street Clinic"},
		{"Wing\x00B\x07", "Wing B"},
		{"\x1b[31mred", "[31mred"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"\n\t ", ""},
		{strings.Repeat("é", MaxNameLength+5), strings.Repeat("é", MaxNameLength)},
		{strings.Repeat("a", MaxNameLength-1) + " b", strings.Repeat("a", MaxNameLength-1)},
	} {
		if got := CleanName(tc.in); got != tc.want {
			t.Errorf("CleanName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanNotes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Fasting.\r\nBring\tlog.\rNo\x00 NUL  ", "Fasting.\nBring\tlog.\nNo NUL"},
		{"\n\n  \nkeep\n\n\nthis\n\n", "keep\n\n\nthis"},
		{strings.Repeat("ñ", MaxNotesLength+1), strings.Repeat("ñ", MaxNotesLength)},
	} {
		if got := CleanNotes(tc.in); got != tc.want {
			t.Errorf("CleanNotes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in        string
		multiline bool
		ok        bool
	}{
		{"Dr. Ana Rivera", false, true},
		{"", false, true},
		{"Line one\nline two\twith a tab", true, true},
		{"Line one\nline two", false, false},
		{"NUL\x00", true, false},
		{"bell\x07", false, false},
		{"   ", false, false},
		{"bad \xff", false, false},
		{strings.Repeat("é", MaxNameLength), false, true},
		{strings.Repeat("é", MaxNameLength+1), false, false},
		{strings.Repeat("é", MaxNotesLength), true, true},
		{strings.Repeat("é", MaxNotesLength+1), true, false},
	} {
		if got := ValidText(tc.in, tc.multiline) == ""; got != tc.ok {
			t.Errorf("ValidText(%q, %v) = %q, want ok %v", tc.in, tc.multiline, ValidText(tc.in, tc.multiline), tc.ok)
		}
	}
}

// FuzzCleanText: whatever a feed sends, what CleanName and CleanNotes keep
// is what the REST API would accept, and cleaning it again changes nothing.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"Dr. Ana\tRivera", "a\r\nb\x00c", "\xff\xfe", " \n ", strings.Repeat("x ", 150)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name := CleanName(s)
		if why := ValidText(name, false); why != "" || !utf8.ValidString(name) {
			t.Fatalf("CleanName(%q) = %q, which %s", s, name, why)
		}
		if again := CleanName(name); again != name {
			t.Fatalf("CleanName not idempotent: %q -> %q -> %q", s, name, again)
		}
		notes := CleanNotes(s)
		if why := ValidText(notes, true); why != "" {
			t.Fatalf("CleanNotes(%q) = %q, which %s", s, notes, why)
		}
		if again := CleanNotes(notes); again != notes {
			t.Fatalf("CleanNotes not idempotent: %q -> %q -> %q", s, notes, again)
		}
	})
}
