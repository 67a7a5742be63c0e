package ehr

import (
	"iter"
	"strconv"
	"strings"
)

// MaxMessageSize is the largest input [Parse] accepts. Scheduling messages
// are a few kilobytes; the bound keeps a hostile or broken sender from making
// the parser hold a large copy of its input.
const MaxMessageSize = 1 << 20

// Delimiters are a message's encoding characters, read from MSH-1 and MSH-2.
// A character that is 0 never separates anything (Parse always sets the
// first five; Truncation only when MSH-2 has a fifth character).
type Delimiters struct {
	Field        byte // MSH-1, usually '|'
	Component    byte // usually '^'
	Repetition   byte // usually '~'
	Escape       byte // usually '\\'
	Subcomponent byte // usually '&'
	// Truncation is the fifth encoding character of HL7 2.7 and later
	// (usually '#'). It marks truncated values and is never a separator.
	Truncation byte
	// charset is the message's character set (MSH-18), in which \X..\
	// escapes give their bytes; the zero value is UTF-8.
	charset charset
}

// DefaultDelimiters are |^~\& with no truncation character.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// encoding is the MSH-2 text for d.
func (d Delimiters) encoding() string {
	b := make([]byte, 0, 5)
	for _, c := range []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent, d.Truncation} {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// Message is a parsed HL7 v2 message. Values stay in their encoded form until
// read, so parsing costs one copy of the input plus one slice per segment;
// accessors split and unescape on demand.
type Message struct {
	delims   Delimiters
	segments []Segment
	// textErr is the first value whose bytes are not text in the message's
	// character set, or the character set itself when Beckon does not take
	// it (charsetErr).
	textErr    *Error
	charsetErr bool
}

// Segment is one segment of a message. Its zero value is an absent segment:
// every field of it is empty.
type Segment struct {
	name  string
	seq   int // 1-based occurrence of name in the message
	index int // 0-based position in the message
	// fields[0] is the segment id; fields[n] is field n as sent. For MSH,
	// fields[1] is the field separator and fields[2] the encoding characters.
	fields []string
	d      *Delimiters
}

// Parse reads an ER7-encoded HL7 v2 message.
//
// It tolerates CR, LF or CRLF segment terminators (a message that uses CR
// keeps bare LFs inside its values), blank lines, a leading byte order mark
// and MLLP framing bytes. It decodes the message from the character set
// MSH-18 declares (see [Message.Charset]); values whose bytes are not text
// (a NUL, invalid UTF-8, a byte the character set does not define) and a
// character set Beckon does not take are reported by [Message.TextError],
// not here, so that the sender can still be answered with an ERR naming the
// field. It rejects, with an [*Error], input that does not
// start with an MSH segment, unusable encoding characters, segment ids that
// are not three upper-case letters or digits, a second MSH (batches are not
// supported) and input larger than [MaxMessageSize]. Work and memory are
// linear in the size of the input.
func Parse(raw []byte) (*Message, error) {
	if len(raw) > MaxMessageSize {
		return nil, &Error{Code: CodeInternalError, Reason: "message larger than " + strconv.Itoa(MaxMessageSize) + " bytes"}
	}
	s := trimFrame(string(raw))
	if s == "" {
		return nil, &Error{Code: CodeSegmentSequence, Segment: "MSH", Reason: "empty message"}
	}
	if !strings.HasPrefix(s, "MSH") {
		return nil, &Error{Code: CodeSegmentSequence, Segment: "MSH", Reason: "message does not start with an MSH segment"}
	}
	d, err := readDelimiters(s)
	if err != nil {
		return nil, err
	}
	m := &Message{delims: d}
	if cs, ok := lookupCharset(declaredCharset(s, d)); ok {
		m.delims.charset = cs
		s = cs.decode(s)
	} else {
		// Read as sent: what the message is can still be told.
		m.textErr, m.charsetErr = charsetError(), true
	}
	m.segments = make([]Segment, 0, strings.Count(s, "\n")+strings.Count(s, "\r")+1)
	seen := make(map[string]int, 16)

	term := byte('\n')
	if strings.IndexByte(s, '\r') >= 0 {
		term = '\r'
	}
	fs := string(d.Field)
	line := 0
	for rest := s; rest != ""; {
		var seg string
		if i := strings.IndexByte(rest, term); i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		} else {
			seg, rest = rest, ""
		}
		line++
		if term == '\r' {
			seg = strings.TrimLeft(seg, "\n")
		}
		if strings.TrimSpace(seg) == "" {
			continue
		}
		name := seg
		if i := strings.IndexByte(seg, d.Field); i >= 0 {
			name = seg[:i]
		}
		if !validSegmentName(name) {
			return nil, &Error{Code: CodeSegmentSequence, Reason: "line " + strconv.Itoa(line) + " is not a segment (a segment id is three upper-case letters or digits)"}
		}
		if name == "MSH" && len(m.segments) > 0 {
			return nil, &Error{Code: CodeSegmentSequence, Segment: "MSH", Sequence: 2, Reason: "more than one MSH segment; batches are not supported"}
		}
		fields := strings.Split(seg, fs)
		if name == "MSH" {
			// MSH-1 is the field separator itself, so the fields after the
			// segment id are shifted by one.
			f := make([]string, 0, len(fields)+1)
			f = append(f, "MSH", fs)
			f = append(f, fields[1:]...)
			fields = f
		}
		seen[name]++
		if m.textErr == nil {
			for n := 1; n < len(fields); n++ {
				if e := fieldTextError(name, seen[name], n, fields[n], m.delims); e != nil {
					m.textErr = e
					break
				}
			}
		}
		m.segments = append(m.segments, Segment{name: name, seq: seen[name], index: len(m.segments), fields: fields, d: &m.delims})
	}
	return m, nil
}

// ParseHeader parses the first segment of raw alone: the MSH of input that
// [Parse] refused (a second MSH, a line that is not a segment), so that its
// acknowledgement can still echo the sender's control id (MSH-10), version
// and applications.
func ParseHeader(raw []byte) (*Message, error) {
	if len(raw) > MaxMessageSize {
		raw = raw[:MaxMessageSize]
	}
	s := trimFrame(string(raw))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return Parse([]byte(s))
}

// trimFrame removes what may surround a message on the wire or in a file:
// a UTF-8 byte order mark, MLLP start and end bytes, blank lines.
func trimFrame(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	s = strings.TrimLeft(s, "\x0b\r\n\t ")
	s = strings.TrimRight(s, "\x1c\r\n\t ")
	return s
}

func validSegmentName(n string) bool {
	if len(n) != 3 || n[0] < 'A' || n[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		c := n[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func readDelimiters(s string) (Delimiters, error) {
	bad := func(field int, reason string) error {
		return &Error{Code: CodeDataTypeError, Segment: "MSH", Sequence: 1, Field: field, Reason: reason}
	}
	if len(s) < 5 {
		return Delimiters{}, bad(2, "MSH segment too short to hold the encoding characters")
	}
	var d Delimiters
	d.Field = s[3]
	if !isDelimiterChar(d.Field) {
		return Delimiters{}, bad(1, "field separator must be a printable ASCII punctuation character")
	}
	enc := s[4:]
	if i := strings.IndexAny(enc, string(d.Field)+"\r\n"); i >= 0 {
		enc = enc[:i]
	}
	if len(enc) < 4 || len(enc) > 5 {
		return Delimiters{}, bad(2, "encoding characters must be 4 characters, or 5 with the truncation character")
	}
	var used [256]bool
	used[d.Field] = true
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !isDelimiterChar(c) {
			return Delimiters{}, bad(2, "encoding characters must be printable ASCII punctuation")
		}
		if used[c] {
			return Delimiters{}, bad(2, "encoding characters must all differ")
		}
		used[c] = true
	}
	ptrs := []*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent, &d.Truncation}
	for i := 0; i < len(enc); i++ {
		*ptrs[i] = enc[i]
	}
	return d, nil
}

func isDelimiterChar(c byte) bool {
	return c > ' ' && c < 0x7f &&
		(c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z')
}

// Charset is the character set the message declared in MSH-18, as HL7
// table 0211 names it ("8859/1", "UNICODE UTF-8", "ASCII"), or "" when it
// declared none or one Beckon does not take. Values are read decoded from it.
func (m *Message) Charset() string { return m.delims.charset.name }

// TextError reports, as an [*Error], the first value whose bytes are not
// text: a NUL byte, bytes that are not valid UTF-8 in a message that
// declares no other character set, a byte the declared 8859 part does not
// define (in the value or in an \X..\ escape); or an MSH-18 character set
// Beckon does not take. Such a message can never be applied as sent.
func (m *Message) TextError() error {
	if m == nil || m.textErr == nil {
		return nil
	}
	return m.textErr
}

// Delimiters returns the message's encoding characters.
func (m *Message) Delimiters() Delimiters { return m.delims }

// Segments returns every segment in order. The slice is the message's own:
// do not modify it.
func (m *Message) Segments() []Segment { return m.segments }

// First returns the first segment with the given id.
func (m *Message) First(name string) (Segment, bool) {
	for _, s := range m.segments {
		if s.name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// Nth returns the n-th (1-based) segment with the given id.
func (m *Message) Nth(name string, n int) (Segment, bool) {
	for _, s := range m.segments {
		if s.name == name && s.seq == n {
			return s, true
		}
	}
	return Segment{}, false
}

// All returns every segment with the given id, in order.
func (m *Message) All(name string) []Segment {
	var out []Segment
	for _, s := range m.segments {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// Version is MSH-12.1, such as "2.5.1".
func (m *Message) Version() string { return m.Get("MSH-12.1") }

// Type is MSH-9.1 (message code, "SIU"), MSH-9.2 (trigger event, "S12") and
// MSH-9.3 (message structure, "SIU_S12", often empty).
func (m *Message) Type() (code, trigger, structure string) {
	h, _ := m.First("MSH")
	f := h.Field(9).Rep(1)
	return f.Comp(1).Value(), f.Comp(2).Value(), f.Comp(3).Value()
}

// ControlID is MSH-10, the id an acknowledgement echoes.
func (m *Message) ControlID() string { return m.Get("MSH-10") }

// Name is the segment id, such as "PID"; empty for an absent segment.
func (s Segment) Name() string { return s.name }

// Sequence is the 1-based occurrence of this segment's id in the message.
func (s Segment) Sequence() int { return s.seq }

// Index is the 0-based position of the segment in the message.
func (s Segment) Index() int { return s.index }

// NumFields is the number of the segment's last field that was sent (empty
// trailing fields that were sent count).
func (s Segment) NumFields() int {
	if len(s.fields) == 0 {
		return 0
	}
	return len(s.fields) - 1
}

// Field returns field n (1-based, HL7 numbering: MSH-1 is the field
// separator, MSH-2 the encoding characters). A field that was not sent is
// empty.
func (s Segment) Field(n int) Field {
	if n < 1 || n >= len(s.fields) {
		return Field{}
	}
	return Field{raw: s.fields[n], d: s.d, literal: s.name == "MSH" && n <= 2}
}

// Get returns the decoded value at field, repetition, component and
// subcomponent (all 1-based; 0 means 1).
func (s Segment) Get(field, rep, comp, sub int) string {
	return s.Field(field).Rep(rep).Comp(comp).Sub(sub)
}

// Field is one field of a segment, with all its repetitions.
type Field struct {
	raw     string
	d       *Delimiters
	literal bool // MSH-1 and MSH-2: never split or unescaped
}

// Raw is the field as sent, still encoded.
func (f Field) Raw() string { return f.raw }

// Empty reports whether nothing was sent in the field.
func (f Field) Empty() bool { return f.raw == "" }

// NumReps is the number of repetitions sent (0 for an empty field).
func (f Field) NumReps() int {
	if f.raw == "" {
		return 0
	}
	if f.literal || f.d == nil {
		return 1
	}
	return count(f.raw, f.d.Repetition)
}

// Rep returns repetition i (1-based; 0 means 1).
func (f Field) Rep(i int) Repetition {
	if f.literal || f.d == nil {
		if i <= 1 {
			return Repetition{raw: f.raw, d: f.d, literal: true}
		}
		return Repetition{}
	}
	return Repetition{raw: nth(f.raw, f.d.Repetition, i), d: f.d}
}

// Reps returns every repetition.
func (f Field) Reps() []Repetition {
	out := make([]Repetition, 0, f.NumReps())
	for _, r := range f.All() {
		out = append(out, r)
	}
	return out
}

// All yields each repetition with its 1-based number, in one pass over the
// field and without allocating.
func (f Field) All() iter.Seq2[int, Repetition] {
	return func(yield func(int, Repetition) bool) {
		if f.raw == "" {
			return
		}
		if f.literal || f.d == nil {
			yield(1, Repetition{raw: f.raw, d: f.d, literal: true})
			return
		}
		rest := f.raw
		for i := 1; ; i++ {
			j := strings.IndexByte(rest, f.d.Repetition)
			if j < 0 || f.d.Repetition == 0 {
				yield(i, Repetition{raw: rest, d: f.d})
				return
			}
			if !yield(i, Repetition{raw: rest[:j], d: f.d}) {
				return
			}
			rest = rest[j+1:]
		}
	}
}

// Value is the first subcomponent of the first component of the first
// repetition, decoded: what HL7 calls reading a composite as a primitive.
func (f Field) Value() string { return f.Rep(1).Value() }

// Repetition is one repetition of a field.
type Repetition struct {
	raw     string
	d       *Delimiters
	literal bool
}

// Raw is the repetition as sent, still encoded.
func (r Repetition) Raw() string { return r.raw }

// Empty reports whether nothing was sent in the repetition.
func (r Repetition) Empty() bool { return r.raw == "" }

// NumComps is the number of components sent.
func (r Repetition) NumComps() int {
	if r.raw == "" {
		return 0
	}
	if r.literal || r.d == nil {
		return 1
	}
	return count(r.raw, r.d.Component)
}

// Comp returns component i (1-based; 0 means 1).
func (r Repetition) Comp(i int) Component {
	if r.literal || r.d == nil {
		if i <= 1 {
			return Component{raw: r.raw, d: r.d, literal: true}
		}
		return Component{}
	}
	return Component{raw: nth(r.raw, r.d.Component, i), d: r.d}
}

// Value is the first subcomponent of the first component, decoded.
func (r Repetition) Value() string { return r.Comp(1).Value() }

// Component is one component of a repetition.
type Component struct {
	raw     string
	d       *Delimiters
	literal bool
}

// Raw is the component as sent, still encoded.
func (c Component) Raw() string { return c.raw }

// Sub returns subcomponent i (1-based; 0 means 1), decoded.
func (c Component) Sub(i int) string {
	if c.literal || c.d == nil {
		if i <= 1 {
			return c.raw
		}
		return ""
	}
	return Unescape(nth(c.raw, c.d.Subcomponent, i), *c.d)
}

// Value is the first subcomponent, decoded.
func (c Component) Value() string { return c.Sub(1) }

// Text is the whole component decoded, subcomponent separators included as
// sent (useful for components that are not expected to have subcomponents but
// whose text contains the separator unescaped).
func (c Component) Text() string {
	if c.literal || c.d == nil {
		return c.raw
	}
	return Unescape(c.raw, *c.d)
}

// nth returns the i-th (1-based; 0 means 1) piece of s split on sep, without
// allocating. sep 0 means s is a single piece.
func nth(s string, sep byte, i int) string {
	if i < 1 {
		i = 1
	}
	if sep == 0 {
		if i == 1 {
			return s
		}
		return ""
	}
	for ; i > 1; i-- {
		j := strings.IndexByte(s, sep)
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, sep); j >= 0 {
		return s[:j]
	}
	return s
}

func count(s string, sep byte) int {
	if sep == 0 {
		return 1
	}
	return strings.Count(s, string(sep)) + 1
}
