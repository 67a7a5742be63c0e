package ehr

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Character sets (MSH-18, HL7 table 0211). A message that declares none is
// read as UTF-8, of which ASCII is a part. MSH itself is ASCII in every
// character set taken here, so MSH-18 is read before the message is decoded.
//
// Taken: ASCII (and ISO IR6), UNICODE UTF-8 (and UNICODE, which older senders
// write for it), and the ISO 8859 parts golang.org/x/text has (8859/1 to
// 8859/16 but 8859/11 and 8859/12). Any other value, the multi-byte
// character sets (ISO IR87, GB 18030-2000, KS X 1001, BIG-5, …) and UTF-16
// and UTF-32 included, makes the message refused with an AR.
var iso8859 = map[string]*charmap.Charmap{
	"1": charmap.ISO8859_1, "2": charmap.ISO8859_2, "3": charmap.ISO8859_3,
	"4": charmap.ISO8859_4, "5": charmap.ISO8859_5, "6": charmap.ISO8859_6,
	"7": charmap.ISO8859_7, "8": charmap.ISO8859_8, "9": charmap.ISO8859_9,
	"10": charmap.ISO8859_10, "13": charmap.ISO8859_13, "14": charmap.ISO8859_14,
	"15": charmap.ISO8859_15, "16": charmap.ISO8859_16,
}

// charset is a character set a message can be written in.
type charset struct {
	name string           // normalised table 0211 value; "" when none was declared
	cm   *charmap.Charmap // nil: UTF-8 (ASCII included)
}

// lookupCharset reads an MSH-18 value. ok is false for a character set
// Beckon does not take.
func lookupCharset(v string) (charset, bool) {
	n := strings.ToUpper(strings.Join(strings.Fields(v), " "))
	switch n {
	case "", `""`:
		return charset{}, true
	case "ASCII", "ISO IR6", "US-ASCII":
		return charset{name: "ASCII"}, true
	case "UNICODE UTF-8", "UNICODE", "UTF-8", "UTF8":
		return charset{name: "UNICODE UTF-8"}, true
	}
	part := ""
	for _, prefix := range []string{"8859/", "ISO-8859-", "ISO 8859-", "ISO8859-", "ISO_8859-"} {
		if p, ok := strings.CutPrefix(n, prefix); ok {
			part = p
			break
		}
	}
	if cm, ok := iso8859[part]; ok {
		return charset{name: "8859/" + part, cm: cm}, true
	}
	return charset{}, false
}

// declaredCharset reads MSH-18 (its first repetition) from s, which starts
// with an MSH segment whose delimiters are d.
func declaredCharset(s string, d Delimiters) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	// s[3] is the field separator and s[4:] starts with MSH-2: MSH-18 is
	// after the 16th separator from there.
	v := s[4:]
	for range 16 {
		i := strings.IndexByte(v, d.Field)
		if i < 0 {
			return ""
		}
		v = v[i+1:]
	}
	if i := strings.IndexByte(v, d.Field); i >= 0 {
		v = v[:i]
	}
	if i := strings.IndexByte(v, d.Repetition); i >= 0 {
		v = v[:i]
	}
	return v
}

// decode turns s, written in c, into UTF-8. A byte c does not define
// becomes U+FFFD, which no 8859 part can encode: [badText] finds it.
func (c charset) decode(s string) string {
	if c.cm == nil {
		return s
	}
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s // ASCII is the same in every 8859 part
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			b.WriteByte(s[i])
			continue
		}
		b.WriteRune(c.cm.DecodeByte(s[i]))
	}
	return b.String()
}

// textFault says what is wrong with a value's bytes, "" when nothing is.
// s is decoded text (UTF-8); in a message decoded from an 8859 part, U+FFFD
// stands for a byte that part does not define.
func (c charset) textFault(s string) (at int, reason string) {
	for i := 0; i < len(s); {
		b := s[i]
		if b == 0 {
			return i, "contains a NUL byte"
		}
		if b < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i, "is not valid UTF-8 text; declare the character set in MSH-18 (such as 8859/1)"
		}
		if r == utf8.RuneError && c.cm != nil {
			return i, "holds a byte that is not a character of " + c.name
		}
		i += size
	}
	return -1, ""
}

// fieldTextError checks field n (raw, as sent) of segment seg for bytes that
// are not text, including what \X..\ escapes stand for, and names the
// repetition and component at fault.
func fieldTextError(name string, seq, n int, raw string, d Delimiters) *Error {
	cs := d.charset
	at, reason := cs.textFault(raw)
	if at < 0 && d.Escape != 0 && strings.Contains(raw, string(d.Escape)+"X") {
		if _, r := cs.textFault(Unescape(raw, d)); r != "" {
			at, reason = escapeFault(raw, d, cs), "has an \\X\\ escape that gives a NUL byte or bytes that are not text in the message's character set"
		}
	}
	if at < 0 {
		return nil
	}
	e := &Error{Code: CodeDataTypeError, Segment: name, Sequence: seq, Field: n, Reason: "the value " + reason}
	if name == "MSH" && n <= 2 {
		return e
	}
	prefix := raw[:at]
	e.Repetition = 1
	if d.Repetition != 0 {
		e.Repetition = strings.Count(prefix, string(d.Repetition)) + 1
		prefix = prefix[strings.LastIndexByte(prefix, d.Repetition)+1:]
	}
	if d.Component != 0 {
		e.Component = strings.Count(prefix, string(d.Component)) + 1
	}
	return e
}

// escapeFault is the offset of the first \X..\ escape in raw whose bytes are
// not text (0 when it cannot be told apart).
func escapeFault(raw string, d Delimiters, cs charset) int {
	esc := string(d.Escape)
	for off := 0; ; {
		i := strings.Index(raw[off:], esc+"X")
		if i < 0 {
			return 0
		}
		i += off
		j := strings.Index(raw[i+1:], esc)
		if j < 0 {
			return 0
		}
		if _, r := cs.textFault(Unescape(raw[i:i+j+2], d)); r != "" {
			return i
		}
		off = i + j + 2
	}
}

// charsetError is the AR reason for an MSH-18 Beckon does not take.
func charsetError() *Error {
	return &Error{Code: CodeTableValueNotFound, Segment: "MSH", Sequence: 1, Field: 18,
		Reason: "unsupported character set; supported are ASCII, UNICODE UTF-8 and 8859/1 to 8859/16 (not 8859/11, 8859/12)"}
}
