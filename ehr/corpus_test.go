package ehr

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// corpusZone is the clinic time zone the corpus is read in.
func corpusZone(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load zone: %v", err)
	}
	return loc
}

// corpusNow is the fixed time acknowledgements are written at.
var corpusNow = time.Date(2024, 3, 14, 10, 15, 30, 0, time.FixedZone("", -4*3600))

// golden is what a corpus file is expected to produce. Times are written
// with their offset, durations as Go durations, the ACK one segment a line.
type golden struct {
	Ack   AckCode     `json:"ack"`
	Error *goldenErr  `json:"error,omitempty"`
	Event *goldenView `json:"event,omitempty"`
	ACK   []string    `json:"ack_segments"`
}

type goldenErr struct {
	Code     ErrorCode `json:"code"`
	Location string    `json:"location"`
	Reason   string    `json:"reason"`
}

type goldenView struct {
	Event
	Duration string
}

func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCorpus(t *testing.T) {
	loc := corpusZone(t)
	files := corpusFiles(t)
	var good, bad int
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "bad_") {
			bad++
		} else {
			good++
		}
	}
	if good < 30 || bad < 8 {
		t.Fatalf("corpus has %d SIU and %d malformed messages; want at least 30 and 8", good, bad)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".hl7")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out := Classify(raw, loc)
			ack := Ack(out.Message, out.Code, out.Err, corpusNow, "ACK-"+name, out.Warnings()...)
			got := golden{Ack: out.Code, ACK: strings.Split(strings.TrimSuffix(string(ack), "\r"), "\r")}
			if out.Err != nil {
				var e *Error
				if !errors.As(out.Err, &e) {
					t.Fatalf("error is %T, want *Error", out.Err)
				}
				got.Error = &goldenErr{Code: e.Code, Location: e.Location(), Reason: e.Reason}
			}
			if out.Code == AA {
				got.Event = &goldenView{Event: out.Event, Duration: out.Event.Duration.String()}
			}
			checkByName(t, name, out)
			checkAck(t, out, ack)

			data, err := json.MarshalIndent(got, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, '\n')
			gf := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(gf, data, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run go test ./ehr -run TestCorpus -update and review the result)", err)
			}
			if !bytes.Equal(data, want) {
				t.Errorf("mismatch with %s\n got: %s\nwant: %s", gf, data, want)
			}
		})
	}
}

// checkByName asserts what a file's name promises, independently of its
// golden file: siu_<event>_v<version>_… is accepted as that event and
// version; bad_… is not accepted.
func checkByName(t *testing.T, name string, out Outcome) {
	t.Helper()
	parts := strings.Split(name, "_")
	if parts[0] == "bad" {
		if out.Code == AA {
			t.Fatalf("malformed message accepted")
		}
		return
	}
	if out.Code != AA {
		t.Fatalf("got %s (%v), want AA", out.Code, out.Err)
	}
	ev := out.Event
	if trig := strings.ToUpper(parts[1]); ev.Trigger != trig || ev.Kind != triggerKinds[trig] {
		t.Errorf("trigger %s kind %s, want %s", ev.Trigger, ev.Kind, trig)
	}
	wantVersion := map[string]string{"v23": "2.3", "v231": "2.3.1", "v24": "2.4", "v251": "2.5.1", "v27": "2.7", "v28": "2.8"}[parts[2]]
	if ev.Version != wantVersion {
		t.Errorf("version %q, want %q", ev.Version, wantVersion)
	}
	if ev.AppointmentID == "" || ev.Patient.ID == "" || ev.MessageControlID == "" || ev.MessageTime.IsZero() {
		t.Errorf("missing appointment id, patient id, control id or message time: %+v", ev)
	}
	if ev.Kind.needsStart() && ev.Start.IsZero() {
		t.Errorf("no start for %s", ev.Kind)
	}
}

// checkAck re-parses the acknowledgement and checks its shape.
func checkAck(t *testing.T, out Outcome, ack []byte) {
	t.Helper()
	m, err := Parse(ack)
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, ack)
	}
	if got := m.Get("MSA-1"); got != string(out.Code) {
		t.Errorf("MSA-1 %q, want %q", got, out.Code)
	}
	if code, _, _ := m.Type(); code != "ACK" {
		t.Errorf("MSH-9.1 %q", code)
	}
	if out.Message != nil {
		if got, want := m.Get("MSA-2"), out.Message.ControlID(); got != want {
			t.Errorf("MSA-2 %q, want %q", got, want)
		}
		if got, want := m.Version(), out.Message.Version(); want != "" && got != want {
			t.Errorf("ACK version %q, want %q", got, want)
		}
		if got, want := m.Get("MSH-5"), out.Message.Get("MSH-3"); got != want {
			t.Errorf("MSH-5 %q, want sender %q", got, want)
		}
	}
	_, hasERR := m.First("ERR")
	warnings := len(out.Warnings()) > 0
	if old := oldErrStyle(m.Version()); hasERR != (out.Code != AA || (warnings && !old)) {
		t.Errorf("ERR present %v for %s with warnings %v", hasERR, out.Code, warnings)
	}
	if warnings {
		// Each warning is an ERR with severity W (2.5 and later) or is
		// said in MSA-3; no value from the message is quoted.
		for i, e := range m.All("ERR") {
			if got := e.Field(4).Value(); got != "W" {
				t.Errorf("ERR %d severity %q, want W", i+1, got)
			}
		}
		if oldErrStyle(m.Version()) && !strings.Contains(m.Get("MSA-3"), "dropped") {
			t.Errorf("MSA-3 %q does not say what was dropped", m.Get("MSA-3"))
		}
	}
}
