package ehr

import "strings"

// Unescape decodes HL7 escape sequences in a value that has already been
// split into its smallest part:
//
//	\F\ \S\ \T\ \R\ \E\   field, component, subcomponent, repetition, escape
//	\P\                   truncation character (2.7 and later)
//	\Xhh..\               bytes given in hexadecimal, in the message's character set
//	\.br\ \.sp\           line break
//	\H\ \N\               start and end of highlighting: dropped
//
// (shown with the usual escape character; d.Escape is used). Anything else
// between two escape characters, an unterminated escape or malformed hex is
// kept literally.
func Unescape(s string, d Delimiters) string {
	e := d.Escape
	if e == 0 || strings.IndexByte(s, e) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, e)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i+1:], e)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		seq := s[i+1 : i+1+j]
		if !writeEscape(&b, seq, d) {
			b.WriteString(s[i : i+j+2])
		}
		s = s[i+j+2:]
	}
}

// writeEscape writes what the escape sequence seq (without its escape
// characters) stands for and reports whether it knew the sequence.
func writeEscape(b *strings.Builder, seq string, d Delimiters) bool {
	put := func(c byte) bool {
		if c == 0 {
			return false
		}
		b.WriteByte(c)
		return true
	}
	switch seq {
	case "F":
		return put(d.Field)
	case "S":
		return put(d.Component)
	case "T":
		return put(d.Subcomponent)
	case "R":
		return put(d.Repetition)
	case "E":
		return put(d.Escape)
	case "P":
		return put(d.Truncation)
	case ".br", ".sp":
		b.WriteByte('\n')
		return true
	case "H", "N":
		return true
	}
	if len(seq) >= 3 && seq[0] == 'X' && len(seq)%2 == 1 {
		hex := seq[1:]
		for k := 0; k < len(hex); k++ {
			if unhex(hex[k]) < 0 {
				return false
			}
		}
		raw := make([]byte, 0, len(hex)/2)
		for k := 0; k < len(hex); k += 2 {
			raw = append(raw, byte(unhex(hex[k])<<4|unhex(hex[k+1])))
		}
		// The bytes are in the message's character set.
		b.WriteString(d.charset.decode(string(raw)))
		return true
	}
	return false
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Escape encodes s for use as one value (a subcomponent) of a message with
// delimiters d: each delimiter becomes its escape sequence, a line break
// becomes \.br\ and carriage returns are dropped, so the result never splits
// a segment.
func Escape(s string, d Delimiters) string {
	needs := func(c byte) bool {
		return c != 0 && (c == d.Field || c == d.Component || c == d.Repetition ||
			c == d.Escape || c == d.Subcomponent || c == d.Truncation || c == '\n' || c == '\r')
	}
	k := 0
	for k < len(s) && !needs(s[k]) {
		k++
	}
	if k == len(s) {
		return s
	}
	e := string(d.Escape)
	if d.Escape == 0 {
		e = `\`
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:k])
	for ; k < len(s); k++ {
		c := s[k]
		var seq string
		switch {
		case !needs(c):
			b.WriteByte(c)
			continue
		case c == '\r':
			continue
		case c == '\n':
			seq = ".br"
		case c == d.Field:
			seq = "F"
		case c == d.Component:
			seq = "S"
		case c == d.Repetition:
			seq = "R"
		case c == d.Escape:
			seq = "E"
		case c == d.Subcomponent:
			seq = "T"
		case c == d.Truncation:
			seq = "P"
		}
		b.WriteString(e)
		b.WriteString(seq)
		b.WriteString(e)
	}
	return b.String()
}
