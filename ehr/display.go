package ehr

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds, in characters, on what Beckon keeps of the names a patient is shown
// (a provider's, a location's) and of an appointment's notes. Feeds cut
// longer values (CleanName, CleanNotes); the REST API refuses them.
const (
	MaxNameLength  = 200
	MaxNotesLength = 2000
)

// CleanName makes s fit to show a patient as a name: every run of white
// space or control characters (a line break sent as \.br\, a tab, a NUL)
// becomes one space, the ends are trimmed, invalid UTF-8 is replaced, and
// the result is cut to MaxNameLength characters.
func CleanName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimRightFunc(cutRunes(b.String(), MaxNameLength), unicode.IsSpace)
}

// CleanNotes makes s fit to keep as notes: lines (CRLF and CR read as LF)
// keep their breaks and tabs, other control characters go, trailing white
// space of each line and blank lines at either end are trimmed, invalid
// UTF-8 is replaced, and the result is cut to MaxNotesLength characters.
func CleanNotes(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	s = strings.Trim(strings.Join(lines, "\n"), "\n")
	return strings.TrimRightFunc(cutRunes(s, MaxNotesLength), unicode.IsSpace)
}

// cutRunes returns the first n characters of s.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// ValidText reports why s cannot be kept as a name (multiline false) or as
// notes (multiline true), or "" when it can: no control characters (notes
// may hold line breaks and tabs), valid UTF-8, at most MaxNameLength or
// MaxNotesLength characters, and not only white space. The REST API checks
// what clients send with it; feeds clean instead.
func ValidText(s string, multiline bool) string {
	limit := MaxNameLength
	if multiline {
		limit = MaxNotesLength
	}
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(s) > limit:
		return "is longer than " + strconv.Itoa(limit) + " characters"
	case strings.TrimSpace(s) == "" && s != "":
		return "is only white space"
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return "contains a control character"
		}
	}
	return ""
}
