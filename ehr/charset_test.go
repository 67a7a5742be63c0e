package ehr

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// charsetMessage is an SIU S12 whose MSH-18 is charset and whose PID-5 is
// name, both as raw bytes.
func charsetMessage(charset, name string) []byte {
	return []byte("MSH|^~\\&|EPIC|NORTH|BECKON|BECKON|20240314101500||SIU^S12|C1|P|2.5.1||||||" + charset + "\r" +
		"SCH|PL-1|FL-1|||||||30|MIN|^^^20240315093000\r" +
		"PID|1||MRN1^^^NORTH^MR||" + name + "\r")
}

func TestCharsetDecodesPerMSH18(t *testing.T) {
	t.Parallel()
	loc := time.UTC
	for _, tc := range []struct {
		name, charset, pid5, wantCharset, wantLast string
	}{
		{"no charset, UTF-8", "", "Muñoz^José", "", "Muñoz"},
		{"ASCII", "ASCII", "Rivera^Maria", "ASCII", "Rivera"},
		{"8859/1", "8859/1", "Mu\xf1oz^Jos\xe9", "8859/1", "Muñoz"},
		{"8859/1 lower case, spaced", " 8859/1 ", "Mu\xf1oz^Jos\xe9", "8859/1", "Muñoz"},
		{"ISO-8859-15 alias", "ISO-8859-15", "Mu\xf1oz^Jos\xe9", "8859/15", "Muñoz"},
		{"8859/5 Cyrillic", "8859/5", "\xb8\xd2\xd0\xdd\xde\xd2^X", "8859/5", "Иванов"},
		{"8859/7 Greek", "8859/7", "\xd0\xe1\xf0\xe1\xe4\xfc\xf0\xef\xf5\xeb\xef\xf2^X", "8859/7", "Παπαδόπουλος"},
		{"UNICODE UTF-8", "UNICODE UTF-8", "Muñoz^José", "UNICODE UTF-8", "Muñoz"},
		{"UNICODE", "UNICODE", "Muñoz^José", "UNICODE UTF-8", "Muñoz"},
		{"8859/1 with repetition", "8859/1~ISO IR87", "Mu\xf1oz^Jos\xe9", "8859/1", "Muñoz"},
		{"8859/1 hex escape", "8859/1", `Mu\XF1\oz^Jos\XE9\`, "8859/1", "Muñoz"},
		{"UTF-8 hex escape", "", `Mu\XC3B1\oz^Jos\XC3A9\`, "", "Muñoz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := Classify(charsetMessage(tc.charset, tc.pid5), loc)
			if out.Code != AA {
				t.Fatalf("got %s (%v), want AA", out.Code, out.Err)
			}
			if got := out.Message.Charset(); got != tc.wantCharset {
				t.Errorf("Charset() = %q, want %q", got, tc.wantCharset)
			}
			if got := out.Event.Patient.LastName; got != tc.wantLast {
				t.Errorf("last name %q, want %q", got, tc.wantLast)
			}
		})
	}
}

func TestCharsetRefusesBytesThatAreNotText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, charset, pid5 string
		want                AckCode
		wantLoc             string
	}{
		{"NUL", "", "Riv\x00era^Maria", AE, "PID-5.1"},
		{"NUL in a Latin-1 message", "8859/1", "Rivera^Ma\x00ria", AE, "PID-5.2"},
		{"Latin-1 undeclared", "", "Mu\xf1oz^Jos\xe9", AE, "PID-5.1"},
		{"Latin-1 declared ASCII", "ASCII", "Mu\xf1oz^Jos\xe9", AE, "PID-5.1"},
		{"truncated UTF-8", "UNICODE UTF-8", "Mu\xc3^Jose", AE, "PID-5.1"},
		{"second repetition", "", "Rivera^Maria~Alias^Mu\xf1oz", AE, "PID-5[2].2"},
		{"escape gives NUL", "", `Rivera^Ma\X00\ria`, AE, "PID-5.2"},
		{"escape gives invalid UTF-8", "", `Rivera^Ma\XFF\ria`, AE, "PID-5.2"},
		{"escape undefined in 8859/3", "8859/3", `Rivera^Ma\XA5\ria`, AE, "PID-5.2"},
		{"byte undefined in 8859/3", "8859/3", "Rivera^Ma\xa5ria", AE, "PID-5.2"},
		{"unsupported UTF-16", "UNICODE UTF-16", "Rivera^Maria", AR, "MSH-18"},
		{"unsupported GB 18030", "GB 18030-2000", "Rivera^Maria", AR, "MSH-18"},
		{"unknown charset", "EBCDIC", "Rivera^Maria", AR, "MSH-18"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := Classify(charsetMessage(tc.charset, tc.pid5), time.UTC)
			if out.Code != tc.want {
				t.Fatalf("got %s (%v), want %s", out.Code, out.Err, tc.want)
			}
			var e *Error
			if !errors.As(out.Err, &e) {
				t.Fatalf("error %T, want *Error", out.Err)
			}
			if e.Location() != tc.wantLoc {
				t.Errorf("location %q, want %q", e.Location(), tc.wantLoc)
			}
			if tc.want == AE && e.Code != CodeDataTypeError {
				t.Errorf("code %d, want 102", e.Code)
			}
			if _, err := MapSIU(out.Message, time.UTC); err == nil {
				t.Error("MapSIU mapped a message whose bytes are not text")
			}
			ack := Ack(out.Message, out.Code, out.Err, time.Unix(0, 0), "A1")
			checkCleanAck(t, ack)
			back, err := Parse(ack)
			if err != nil {
				t.Fatalf("ACK does not parse: %v", err)
			}
			if got := back.Get("MSA-2"); got != "C1" {
				t.Errorf("MSA-2 %q, want C1", got)
			}
			if got := back.Get("ERR-2"); got != "PID" && got != "MSH" {
				t.Errorf("ERR-2 %q does not name the segment", got)
			}
		})
	}
}

// checkCleanAck fails when an acknowledgement holds bytes that are not
// printable text (segment ends apart).
func checkCleanAck(t *testing.T, ack []byte) {
	t.Helper()
	for i, b := range ack {
		if (b < ' ' && b != '\r') || b == 0x7f {
			t.Fatalf("ACK holds byte %#x at %d: %q", b, i, ack)
		}
	}
	if !bytes.Equal(bytes.ToValidUTF8(ack, nil), ack) {
		t.Fatalf("ACK is not valid UTF-8: %q", ack)
	}
}

func TestAckNeverEchoesControlBytes(t *testing.T) {
	t.Parallel()
	raw := []byte("MSH|^~\\&|EP\x0bIC|NO\x1cRTH|BECKON|BECKON|20240314101500||SIU^S12|C\x001\xff|P|2.5.1\rPID|1\r")
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []AckCode{AA, AE, AR} {
		ack := Ack(m, code, m.TextError(), time.Unix(0, 0), "A1")
		checkCleanAck(t, ack)
		if !strings.Contains(string(ack), "MSA|"+string(code)+"|C1") {
			t.Errorf("%s: MSA does not echo the control id without its control bytes: %q", code, ack)
		}
	}
}
