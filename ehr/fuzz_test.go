package ehr

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func addCorpusSeeds(f *testing.F) {
	for _, file := range corpusFiles(f) {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("MSH|^~\\&#|\rPID|||\\X0\\\\\\~^&&"))
	f.Add([]byte("MSH"))
	f.Add([]byte("MSH|"))
	f.Add([]byte{})
}

// walk reads every value of m through the accessors.
func walk(m *Message) {
	for _, s := range m.Segments() {
		for i := 1; i <= s.NumFields()+1; i++ {
			for _, r := range s.Field(i).Reps() {
				for c := 1; c <= r.NumComps()+1; c++ {
					comp := r.Comp(c)
					_ = comp.Text()
					for sub := 1; sub <= 3; sub++ {
						_ = comp.Sub(sub)
					}
				}
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			return
		}
		if len(m.Segments()) == 0 || m.Segments()[0].Name() != "MSH" {
			t.Fatal("parsed message does not start with MSH")
		}
		walk(m)
		for _, p := range []string{"MSH-9.2", "PID-3[2].4.1", "SCH-11.4.1", "ZZZ[3]-1", "PID-" + string(raw[:min(len(raw), 8)])} {
			_ = m.Get(p)
		}
	})
}

func FuzzMapSIU(f *testing.F) {
	addCorpusSeeds(f)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2024, 3, 14, 10, 15, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := Classify(raw, ny)
		switch out.Code {
		case AA:
			ev := out.Event
			if out.Err != nil || ev.AppointmentID == "" || ev.Patient.ID == "" || ev.MessageControlID == "" {
				t.Fatalf("accepted an incomplete event: %+v, %v", ev, out.Err)
			}
			if ev.Kind.needsStart() && ev.Start.IsZero() {
				t.Fatalf("accepted %s without a start", ev.Kind)
			}
			if ev.Duration < 0 {
				t.Fatalf("negative duration")
			}
		case AE, AR:
			if out.Err == nil {
				t.Fatalf("%s without an error", out.Code)
			}
		default:
			t.Fatalf("code %q", out.Code)
		}
		ack := Ack(out.Message, out.Code, out.Err, now, "ACK1")
		m, err := Parse(ack)
		if err != nil {
			t.Fatalf("ACK does not parse: %v\n%q", err, ack)
		}
		if got := m.Get("MSA-1"); got != string(out.Code) {
			t.Fatalf("MSA-1 = %q, want %s", got, out.Code)
		}
		if n := len(m.Segments()); n != 2 && n != 3 {
			t.Fatalf("ACK has %d segments: %q", n, ack)
		}
	})
}

func FuzzEscape(f *testing.F) {
	f.Add("a|b^c&d~e\\f#g\nh")
	f.Add("\\X41\\")
	f.Fuzz(func(t *testing.T, s string) {
		d := DefaultDelimiters
		d.Truncation = '#'
		_ = Unescape(s, d)
		enc := Escape(s, d)
		if strings.ContainsAny(enc, "|^&~\r\n#") {
			t.Fatalf("Escape(%q) = %q leaves a delimiter", s, enc)
		}
		if want := strings.ReplaceAll(s, "\r", ""); Unescape(enc, d) != want {
			t.Fatalf("round trip %q -> %q -> %q", s, enc, Unescape(enc, d))
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"20240315093000", "20240315093000.1234-0400", "2024", "20240230"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, _, err := ParseTimestamp(s, time.UTC)
		if err != nil {
			return
		}
		back, _, err := ParseTimestamp(FormatTimestamp(ts), time.UTC)
		if err != nil || !back.Equal(ts.Truncate(time.Second)) {
			t.Fatalf("%q: %v formats as %q, reads back %v, %v", s, ts, FormatTimestamp(ts), back, err)
		}
	})
}

// A 10 MB message is rejected before any work; one just under the limit,
// made of the most fragmented content, is handled with memory bounded by a
// small multiple of its size.
func TestLargeMessages(t *testing.T) {
	ny := newYork(t)
	huge := []byte(siuMsg(map[string]string{"AIS": "NTE|1||" + strings.Repeat("x", 10<<20)}))
	out := Classify(huge, ny)
	if out.Code != AR || out.Message == nil || out.Message.ControlID() == "" || len(out.Message.Segments()) != 1 {
		// Refused, with its MSH alone kept for the ACK.
		t.Fatalf("10 MB message: %s %v", out.Code, out.Err)
	}

	base := siuMsg(nil)
	for name, filler := range map[string]string{
		"repetitions": "PID|1||" + strings.Repeat("~", MaxMessageSize-len(base)-16),
		"components":  "PID|1||" + strings.Repeat("^", MaxMessageSize-len(base)-16),
		"segments":    strings.Repeat("ZZZ\r", (MaxMessageSize-len(base))/4-4),
		"escapes":     "NTE|1||" + strings.Repeat("\\F\\", (MaxMessageSize-len(base))/3-8),
	} {
		t.Run(name, func(t *testing.T) {
			raw := []byte(base + filler)
			if len(raw) > MaxMessageSize {
				t.Fatalf("test message is %d bytes", len(raw))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			out := Classify(raw, ny)
			m := out.Message
			if m == nil {
				t.Fatalf("not parsed: %v", out.Err)
			}
			_ = m.Get("PID-3[50000].1")
			_ = Ack(m, out.Code, out.Err, time.Unix(0, 0), "A")
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d bytes for %d", alloc, len(raw))
			if alloc > 32*uint64(len(raw)) {
				t.Errorf("allocated %d bytes for a %d byte message", alloc, len(raw))
			}
		})
	}
}
