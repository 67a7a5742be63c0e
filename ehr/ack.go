package ehr

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AckCode is an original-mode acknowledgement code (HL7 table 0008).
type AckCode string

// Acknowledgement codes.
const (
	// AA: the message was accepted and will be acted on.
	AA AckCode = "AA"
	// AE: the message is an SIU event Beckon takes, but its content is
	// wrong (a required value missing, a value that does not parse). The
	// sender should fix it; resending it unchanged will fail again.
	AE AckCode = "AE"
	// AR: the message is not something Beckon takes: not HL7, not SIU, an
	// unsupported event or version.
	AR AckCode = "AR"
)

// defaultAckVersion is used when the message to acknowledge could not be read.
const defaultAckVersion = "2.5.1"

// Outcome is what became of one inbound message.
type Outcome struct {
	Code AckCode
	// Message is the parsed message; when the input does not parse, its
	// MSH segment alone if that can be read ([ParseHeader]), else nil.
	Message *Message
	// Event is the mapped event; set only when Code is AA.
	Event Event
	// Err says what was wrong, nil when Code is AA. It is an [*Error].
	Err error
}

// Warnings are what an AA reports along: the values the mapping dropped
// (Event.Warnings).
func (o Outcome) Warnings() []Error {
	if o.Code != AA {
		return nil
	}
	return o.Event.Warnings
}

// Classify parses raw, maps it as an SIU message in the clinic's time zone
// loc, and says how to acknowledge it. See [Mapper.Classify].
func Classify(raw []byte, loc *time.Location) Outcome {
	return Mapper{Location: loc}.Classify(raw)
}

// Classify parses raw and maps it as an SIU message. Input that does not
// parse as HL7, a character set (MSH-18) Beckon does not take, a message
// type other than SIU, an SIU event other than S12, S13, S14, S15, S17 or S26
// and a version outside 2.3 to 2.8 get AR; a message with bytes that are not
// text ([Message.TextError]) or whose content is wrong gets AE; the rest AA,
// with the values the mapping dropped in [Outcome.Warnings].
func (mp Mapper) Classify(raw []byte) Outcome {
	m, err := Parse(raw)
	if err != nil {
		// Message is the MSH alone, when it can be read, for the ACK.
		h, _ := ParseHeader(raw)
		return Outcome{Code: AR, Message: h, Err: err}
	}
	return mp.ClassifyMessage(m)
}

// ClassifyMessage is [Mapper.Classify] of a message already parsed.
func (mp Mapper) ClassifyMessage(m *Message) Outcome {
	if err := m.TextError(); err != nil {
		// A character set Beckon does not take is no fault of the content.
		code := AE
		if m.charsetErr {
			code = AR
		}
		return Outcome{Code: code, Message: m, Err: err}
	}
	ev, err := mp.SIU(m)
	if err != nil {
		code := AE
		var e *Error
		if errors.As(err, &e) {
			switch e.Code {
			case CodeUnsupportedMessageType, CodeUnsupportedEventCode,
				CodeUnsupportedProcessing, CodeUnsupportedVersion:
				code = AR
			}
		}
		return Outcome{Code: code, Message: m, Err: err}
	}
	return Outcome{Code: AA, Message: m, Event: ev}
}

// Ack writes an acknowledgement of m (which may be nil when the input could
// not be parsed) with the given code:
//
//   - MSH: sending and receiving application and facility swapped, now as
//     MSH-7, type ACK^<trigger>^ACK, controlID as MSH-10, m's processing id
//     and version, m's encoding characters.
//   - MSA: code and m's control id (MSH-10). For versions before 2.5 with
//     AE or AR, MSA-3 carries the reason.
//   - ERR, for AE and AR: for versions before 2.5, ERR-1 (segment,
//     sequence, field, table 0357 code); for 2.5 and later, ERR-2 (error
//     location), ERR-3 (table 0357 code), ERR-4 (severity E) and ERR-7 (the
//     reason).
//   - For an AA with warnings (values dropped, [Outcome.Warnings]): for 2.5
//     and later one ERR per warning as above with severity W; before 2.5,
//     where ERR has no severity and an ERR would read as an error, MSA-3
//     says what was dropped.
//
// err should be an [*Error]; any other error is reported as code 207 without
// its text, since that text could quote patient data. Segments end in CR.
func Ack(m *Message, code AckCode, err error, now time.Time, controlID string, warnings ...Error) []byte {
	out := DefaultDelimiters
	var msh Segment
	version := defaultAckVersion
	if m != nil {
		msh, _ = m.First("MSH")
		if d := m.Delimiters(); d.Component != 0 && d.Repetition != 0 && d.Escape != 0 && d.Subcomponent != 0 {
			out = d
		}
		if v := hl7Value(m.Version()); v != "" {
			version = v
		}
	}
	sameEncoding := m != nil && out == m.Delimiters()
	// copyField re-sends a field of the original as it came, or re-encoded
	// when the original used other delimiters.
	copyField := func(n int) string {
		f := msh.Field(n)
		v := f.Raw()
		if !sameEncoding {
			v = Escape(f.Value(), out)
		}
		return sanitizeRaw(v)
	}
	fs := string(out.Field)
	cs := string(out.Component)
	ss := string(out.Subcomponent)

	msgType := "ACK"
	if m != nil {
		if trig := sanitizeRaw(msh.Field(9).Rep(1).Comp(2).Raw()); trig != "" {
			if !sameEncoding {
				trig = Escape(msh.Field(9).Rep(1).Comp(2).Value(), out)
			}
			msgType = "ACK" + cs + trig + cs + "ACK"
		}
	}
	processing := copyField(11)
	if processing == "" {
		processing = "P"
	}

	var b strings.Builder
	join := func(fields ...string) {
		// Trailing empty fields are left out.
		n := len(fields)
		for n > 1 && fields[n-1] == "" {
			n--
		}
		b.WriteString(strings.Join(fields[:n], fs))
		b.WriteByte('\r')
	}
	join("MSH"+fs+out.encoding(),
		copyField(5), copyField(6), copyField(3), copyField(4),
		FormatTimestamp(now), "", msgType, Escape(controlID, out), processing,
		Escape(version, out))

	if code == AA {
		if len(warnings) == 0 {
			join("MSA", string(code), copyField(10))
			return []byte(b.String())
		}
		if oldErrStyle(version) {
			parts := make([]string, 0, len(warnings))
			for i := range warnings {
				parts = append(parts, warnings[i].Location()+": "+warnings[i].Reason)
			}
			join("MSA", string(code), copyField(10), Escape(truncateText("accepted; dropped: "+strings.Join(parts, "; "), 512), out))
			return []byte(b.String())
		}
		join("MSA", string(code), copyField(10))
		for i := range warnings {
			writeERR(join, &warnings[i], "W", out)
		}
		return []byte(b.String())
	}
	var e *Error
	if !errors.As(err, &e) || e == nil {
		e = &Error{Code: CodeInternalError, Reason: "the message could not be processed"}
	}
	table := Escape(strconv.Itoa(int(e.Code)), out)
	codeText := Escape(e.Code.Text(), out)
	reason := Escape(e.Reason, out)
	if oldErrStyle(version) {
		join("MSA", string(code), copyField(10), reason)
		eld := ""
		if e.Segment != "" {
			eld = e.Segment + cs + positive(e.Sequence) + cs + positive(e.Field)
		}
		eld += cs + table + ss + codeText + ss + "HL70357"
		if e.Segment == "" {
			eld = cs + cs + eld
		}
		join("ERR", eld)
		return []byte(b.String())
	}
	join("MSA", string(code), copyField(10))
	writeERR(join, e, "E", out)
	return []byte(b.String())
}

// writeERR writes a 2.5-style ERR: ERR-2 location, ERR-3 table 0357 code,
// ERR-4 severity (HL7 table 0516: E error, W warning), ERR-7 the reason.
func writeERR(join func(...string), e *Error, severity string, out Delimiters) {
	cs := string(out.Component)
	erl := ""
	if e.Segment != "" {
		rep := e.Repetition
		if rep == 0 && e.Field > 0 {
			rep = 1
		}
		erl = strings.TrimRight(strings.Join([]string{
			e.Segment, positive(e.Sequence), positive(e.Field), positive(rep),
			positive(e.Component), positive(e.Subcomponent),
		}, cs), cs)
	}
	table := Escape(strconv.Itoa(int(e.Code)), out)
	join("ERR", "", erl, table+cs+Escape(e.Code.Text(), out)+cs+"HL70357", severity, "", "", Escape(e.Reason, out))
}

// truncateText cuts s to at most n bytes, on a character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// oldErrStyle reports whether version predates 2.5, when ERR-1 (ELD) was
// the only way to locate an error.
func oldErrStyle(version string) bool {
	rest, ok := strings.CutPrefix(version, "2.")
	return ok && rest != "" && rest[0] >= '0' && rest[0] < '5' && (len(rest) == 1 || rest[1] == '.')
}

func positive(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// sanitizeRaw keeps a copied value from ending a segment (or an MLLP frame)
// early, from carrying bytes that are not text, and bounds its length.
func sanitizeRaw(s string) string {
	if len(s) > 256 {
		s = s[:256]
	}
	clean := utf8.ValidString(s)
	for i := 0; clean && i < len(s); i++ {
		clean = s[i] >= ' ' && s[i] != 0x7f
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}
