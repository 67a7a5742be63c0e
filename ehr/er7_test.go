package ehr

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseStructure(t *testing.T) {
	t.Parallel()
	msg := "MSH|^~\\&|APP^1.2.3^ISO|FAC|||20240314||SIU^S12^SIU_S12|C1|P|2.5.1\r" +
		"PID|1||A1^^^AUTH&1.2&ISO^MR~B2^^^X^PI||Doe^Jane\r" +
		"AIS|1||S1\r" +
		"AIS|2||S2^Second\r"
	m := mustParse(t, msg)
	if n := len(m.Segments()); n != 4 {
		t.Fatalf("segments = %d, want 4", n)
	}
	for _, tc := range []struct{ path, want string }{
		{"MSH-1", "|"},
		{"MSH-2", "^~\\&"},
		{"MSH-3", "APP"},
		{"MSH-3.2", "1.2.3"},
		{"MSH-9.2", "S12"},
		{"MSH-9.3", "SIU_S12"},
		{"MSH-10", "C1"},
		{"MSH-12", "2.5.1"},
		{"PID-3", "A1"},
		{"PID-3[1].4.2", "1.2"},
		{"PID-3(2).5", "PI"},
		{"PID-3[2].1", "B2"},
		{"PID-3[3]", ""},
		{"PID-5.2", "Jane"},
		{"PID-99", ""},
		{"AIS[2]-3.2", "Second"},
		{"AIS(2)-3", "S2"},
		{"AIS[3]-3", ""},
		{"ZZZ-1", ""},
		{"PID", ""},
		{"pid-3", ""},
		{"PID-0", ""},
		{"PID-3.x", ""},
		{"PID-3[0]", ""},
		{"PID-3..1", ""},
		{"PID-3.1.1.1", ""},
	} {
		if got := m.Get(tc.path); got != tc.want {
			t.Errorf("Get(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if code, trig, st := m.Type(); code != "SIU" || trig != "S12" || st != "SIU_S12" {
		t.Errorf("Type = %q %q %q", code, trig, st)
	}
	pid, ok := m.First("PID")
	if !ok || pid.Field(3).NumReps() != 2 || pid.Field(3).Rep(1).NumComps() != 5 {
		t.Fatalf("PID-3 shape wrong")
	}
	if got := pid.Field(3).Rep(1).Comp(4).Raw(); got != "AUTH&1.2&ISO" {
		t.Errorf("raw component = %q", got)
	}
	if ais := m.All("AIS"); len(ais) != 2 || ais[1].Sequence() != 2 || ais[1].Index() != 3 {
		t.Errorf("All(AIS) = %+v", ais)
	}
	h, _ := m.First("MSH")
	if h.Field(2).NumReps() != 1 || h.Field(2).Rep(2).Value() != "" || h.Field(1).Rep(1).Comp(2).Value() != "" {
		t.Error("MSH-1 and MSH-2 must not be split")
	}
	if h.NumFields() != 12 {
		t.Errorf("MSH NumFields = %d, want 12", h.NumFields())
	}
	var absent Segment
	if absent.Get(3, 1, 1, 1) != "" || absent.Field(1).Value() != "" || absent.NumFields() != 0 {
		t.Error("absent segment must read as empty")
	}
}

func TestParseDelimiters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, msg string
		want      Delimiters
		value     string // PID-3.1 decoded
	}{
		{"standard", "MSH|^~\\&|\rPID|||a\\F\\b^x", DefaultDelimiters, "a|b"},
		{"custom", "MSH#$*!%\rPID###a!S!b$c", Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '!', Subcomponent: '%'}, "a$b"},
		{"truncation", "MSH|^~\\&#|\rPID|||a\\P\\b#", Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: '#'}, "a#b#"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.msg)
			if m.Delimiters() != tc.want {
				t.Errorf("delimiters = %+v, want %+v", m.Delimiters(), tc.want)
			}
			if got := m.Get("PID-3"); got != tc.value {
				t.Errorf("PID-3 = %q, want %q", got, tc.value)
			}
		})
	}
}

func TestParseLineEndings(t *testing.T) {
	t.Parallel()
	base := []string{"MSH|^~\\&|A|B|||||SIU^S12|1|P|2.5.1", "SCH|P1|F1", "PID|1||M1"}
	for name, raw := range map[string]string{
		"CR":            strings.Join(base, "\r"),
		"LF":            strings.Join(base, "\n"),
		"CRLF":          strings.Join(base, "\r\n") + "\r\n",
		"blank lines":   strings.Join(base, "\r\n\r\n") + "\r\n\r\n\r\n",
		"mllp":          "\x0b" + strings.Join(base, "\r") + "\r\x1c\r",
		"bom":           "\ufeff" + strings.Join(base, "\n"),
		"leading space": "\n\n  " + strings.Join(base, "\r"),
	} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, raw)
			if n := len(m.Segments()); n != 3 {
				t.Fatalf("segments = %d, want 3", n)
			}
			if got := m.Get("PID-3"); got != "M1" {
				t.Errorf("PID-3 = %q", got)
			}
		})
	}
	// With CR terminators, a bare LF inside a value is part of the value.
	m := mustParse(t, "MSH|^~\\&\rNTE|1||line one\nline two\rPID|1||M1\r")
	if got := m.Get("NTE-3"); got != "line one\nline two" {
		t.Errorf("NTE-3 = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, msg string
		code      ErrorCode
		loc       string
	}{
		{"empty", "", CodeSegmentSequence, "MSH"},
		{"blank", "\r\n \r\n", CodeSegmentSequence, "MSH"},
		{"no MSH", "PID|1||M1\r", CodeSegmentSequence, "MSH"},
		{"json", `{"a":1}`, CodeSegmentSequence, "MSH"},
		{"too short", "MSH|", CodeDataTypeError, "MSH-2"},
		{"alnum field separator", "MSHA^~\\&A", CodeDataTypeError, "MSH-1"},
		{"CR field separator", "MSH\r^~\\&", CodeDataTypeError, "MSH-1"},
		{"empty encoding", "MSH||A|B", CodeDataTypeError, "MSH-2"},
		{"duplicate encoding", "MSH|^^\\&|A", CodeDataTypeError, "MSH-2"},
		{"encoding cut by field separator", "MSH|^|\\&|A", CodeDataTypeError, "MSH-2"},
		{"three encoding characters", "MSH|^~\\|A", CodeDataTypeError, "MSH-2"},
		{"encoding too long", "MSH|^~\\&#!|A", CodeDataTypeError, "MSH-2"},
		{"alnum encoding", "MSH|^~\\&X|A", CodeDataTypeError, "MSH-2"},
		{"lowercase segment", "MSH|^~\\&\rpid|1", CodeSegmentSequence, ""},
		{"long segment id", "MSH|^~\\&\rPIDX|1", CodeSegmentSequence, ""},
		{"second MSH", "MSH|^~\\&\rMSH|^~\\&", CodeSegmentSequence, "MSH"},
		{"too large", "MSH|^~\\&|" + strings.Repeat("x", MaxMessageSize), CodeInternalError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.msg))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, %v; want *Error", m, err)
			}
			if e.Code != tc.code || e.Location() != tc.loc {
				t.Errorf("got code %d at %q (%v), want %d at %q", e.Code, e.Location(), e, tc.code, tc.loc)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	e := &Error{Code: CodeDataTypeError, Segment: "SCH", Sequence: 1, Field: 11, Repetition: 2, Component: 4, Subcomponent: 1, Reason: "bad"}
	if got, want := e.Error(), "hl7: SCH-11[2].4.1: data type error: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&Error{Code: 999}).Error(); got != "hl7: error 999" {
		t.Errorf("Error() = %q", got)
	}
}
