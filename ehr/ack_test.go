package ehr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAckAccept(t *testing.T) {
	t.Parallel()
	m := mustParse(t, "MSH|^~\\&|EPIC|NC^1.2^ISO|BECKON|BK|20240314||SIU^S12^SIU_S12|C1|T|2.5.1\rSCH|P1|F1\r")
	now := time.Date(2024, 3, 14, 10, 15, 30, 0, time.UTC)
	got := string(Ack(m, AA, nil, now, "ACK1"))
	want := "MSH|^~\\&|BECKON|BK|EPIC|NC^1.2^ISO|20240314101530+0000||ACK^S12^ACK|ACK1|T|2.5.1\r" +
		"MSA|AA|C1\r"
	if got != want {
		t.Errorf("Ack =\n%q\nwant\n%q", got, want)
	}
}

func TestAckErrorStyles(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 14, 10, 15, 30, 0, time.UTC)
	e := &Error{Code: CodeRequiredFieldMissing, Segment: "SCH", Sequence: 1, Field: 2, Reason: "no appointment id"}
	for _, tc := range []struct {
		version, msa, err string
	}{
		{"2.3", "MSA|AE|C1|no appointment id", "ERR|SCH^1^2^101&Required field missing&HL70357"},
		{"2.4", "MSA|AE|C1|no appointment id", "ERR|SCH^1^2^101&Required field missing&HL70357"},
		{"2.5", "MSA|AE|C1", "ERR||SCH^1^2^1|101^Required field missing^HL70357|E|||no appointment id"},
		{"2.8", "MSA|AE|C1", "ERR||SCH^1^2^1|101^Required field missing^HL70357|E|||no appointment id"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			m := mustParse(t, "MSH|^~\\&|A|B|C|D|20240314||SIU^S12|C1|P|"+tc.version+"\r")
			segs := strings.Split(strings.TrimSuffix(string(Ack(m, AE, e, now, "X")), "\r"), "\r")
			if len(segs) != 3 || segs[1] != tc.msa || segs[2] != tc.err {
				t.Errorf("got %q", segs)
			}
		})
	}
}

func TestAckWithoutMessage(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 14, 10, 15, 30, 0, time.UTC)
	_, perr := Parse([]byte("hello"))
	got := string(Ack(nil, AR, perr, now, "X1"))
	want := "MSH|^~\\&|||||20240314101530+0000||ACK|X1|P|2.5.1\r" +
		"MSA|AR\r" +
		"ERR||MSH|100^Segment sequence error^HL70357|E|||message does not start with an MSH segment\r"
	if got != want {
		t.Errorf("Ack =\n%q\nwant\n%q", got, want)
	}
}

func TestAckHidesForeignErrors(t *testing.T) {
	t.Parallel()
	m := mustParse(t, "MSH|^~\\&|A|B|C|D|20240314||SIU^S12|C1|P|2.5.1\r")
	err := fmt.Errorf("store: patient Jane Doe: %w", errors.New("boom"))
	ack := string(Ack(m, AE, err, time.Unix(0, 0).UTC(), "X"))
	if strings.Contains(ack, "Jane") || !strings.Contains(ack, "|207^Application internal error^HL70357|") {
		t.Errorf("ACK = %q", ack)
	}
	wrapped := fmt.Errorf("mapping: %w", &Error{Code: CodeRequiredFieldMissing, Segment: "PID", Sequence: 1, Field: 3})
	if ack := string(Ack(m, AE, wrapped, time.Unix(0, 0).UTC(), "X")); !strings.Contains(ack, "ERR||PID^1^3^1|101^") {
		t.Errorf("wrapped *Error not used: %q", ack)
	}
}

func TestAckKeepsSenderEncoding(t *testing.T) {
	t.Parallel()
	m := mustParse(t, "MSH#$*!%#APP$X#FAC#####SIU$S12#C|1#P#2.5.1\r")
	ack := Ack(m, AE, &Error{Code: CodeDataTypeError, Segment: "SCH", Sequence: 1, Field: 11, Component: 4, Reason: "a|b#c"}, time.Unix(0, 0).UTC(), "A$1")
	back, err := Parse(ack)
	if err != nil {
		t.Fatalf("ACK does not parse: %v (%q)", err, ack)
	}
	if back.Delimiters() != m.Delimiters() {
		t.Errorf("delimiters %+v", back.Delimiters())
	}
	for path, want := range map[string]string{
		"MSH-5": "APP", "MSH-5.2": "X", "MSH-9.2": "S12", "MSH-10": "A$1",
		"MSA-2": "C|1", "ERR-2.1": "SCH", "ERR-2.5": "4", "ERR-7": "a|b#c",
	} {
		if got := back.Get(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	ny := newYork(t)
	for _, tc := range []struct {
		name, msg string
		code      AckCode
	}{
		{"accepted", siuMsg(nil), AA},
		{"not HL7", "<xml/>", AR},
		{"ADT", siuMsg(map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||ADT^A01|C1|P|2.5.1"}), AR},
		{"unsupported event", siuMsg(map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||SIU^S16|C1|P|2.5.1"}), AR},
		{"unsupported version", siuMsg(map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||SIU^S12|C1|P|2.1"}), AR},
		{"no appointment id", siuMsg(map[string]string{"SCH": "SCH"}), AE},
		{"bad start", siuMsg(map[string]string{"TQ1": "TQ1|1||||||tomorrow"}), AE},
		{"no patient id", siuMsg(map[string]string{"PID": "PID|1"}), AE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Classify([]byte(tc.msg), ny)
			if out.Code != tc.code {
				t.Errorf("code %s (%v), want %s", out.Code, out.Err, tc.code)
			}
			if (out.Err == nil) != (tc.code == AA) {
				t.Errorf("err = %v", out.Err)
			}
		})
	}
}
