package ehr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// siuMsg builds a 2.5.1 SIU^S12 whose segments can be replaced by id.
func siuMsg(replace map[string]string) string {
	segs := []struct{ id, text string }{
		{"MSH", "MSH|^~\\&|EPIC|NC|BECKON|BECKON|20240314101500||SIU^S12^SIU_S12|C1|P|2.5.1"},
		{"SCH", "SCH|P1|F1|||||||30|MIN"},
		{"TQ1", "TQ1|1||||||20240315093000"},
		{"PID", "PID|1||M1^^^NC^MR||Doe^Jo"},
		{"AIS", "AIS|1|A|S1^Service"},
	}
	var b strings.Builder
	for _, s := range segs {
		text := s.text
		if r, ok := replace[s.id]; ok {
			text = r
		}
		if text != "" {
			b.WriteString(text)
			b.WriteByte('\r')
		}
	}
	return b.String()
}

func newYork(t testing.TB) *time.Location {
	t.Helper()
	return corpusZone(t)
}

func TestMapSIUTimestampForms(t *testing.T) {
	t.Parallel()
	ny := newYork(t)
	local, err := MapSIU(mustParse(t, siuMsg(nil)), ny)
	if err != nil {
		t.Fatal(err)
	}
	offset, err := MapSIU(mustParse(t, siuMsg(map[string]string{
		"MSH": "MSH|^~\\&|EPIC|NC|BECKON|BECKON|20240314141500+0000||SIU^S12^SIU_S12|C1|P|2.5.1",
		"TQ1": "TQ1|1||||||20240315093000-0400",
	})), time.UTC) // the zone must not matter when an offset is sent
	if err != nil {
		t.Fatal(err)
	}
	if !local.Start.Equal(offset.Start) || !local.MessageTime.Equal(offset.MessageTime) {
		t.Errorf("start %v vs %v, message time %v vs %v", local.Start, offset.Start, local.MessageTime, offset.MessageTime)
	}
	if want := time.Date(2024, 3, 15, 13, 30, 0, 0, time.UTC); !local.Start.Equal(want) {
		t.Errorf("start = %v, want %v", local.Start, want)
	}
}

func TestMapSIUChoices(t *testing.T) {
	t.Parallel()
	ny := newYork(t)
	for _, tc := range []struct {
		name    string
		replace map[string]string
		check   func(t *testing.T, ev Event)
	}{
		{"TQ1 wins over SCH-11", map[string]string{"SCH": "SCH|P1|F1|||||||||^^^20240401080000"}, func(t *testing.T, ev Event) {
			if ev.Start.Day() != 15 {
				t.Errorf("start %v", ev.Start)
			}
		}},
		{"SCH-11 when TQ1 is empty", map[string]string{"SCH": "SCH|P1|F1|||||||||^^^20240401080000", "TQ1": "TQ1|1"}, func(t *testing.T, ev Event) {
			if ev.Start.Day() != 1 || ev.Start.Month() != 4 {
				t.Errorf("start %v", ev.Start)
			}
		}},
		{"filler id preferred", nil, func(t *testing.T, ev Event) {
			if ev.AppointmentID != "F1" || ev.PlacerAppointmentID.ID != "P1" {
				t.Errorf("ids %q %+v", ev.AppointmentID, ev.PlacerAppointmentID)
			}
		}},
		{"explicit null filler id", map[string]string{"SCH": `SCH|P1|""`}, func(t *testing.T, ev Event) {
			if ev.AppointmentID != "P1" {
				t.Errorf("id %q", ev.AppointmentID)
			}
		}},
		{"duration in hours", map[string]string{"SCH": "SCH|P1|F1|||||||2|h^hours"}, func(t *testing.T, ev Event) {
			if ev.Duration != 2*time.Hour {
				t.Errorf("duration %v", ev.Duration)
			}
		}},
		{"duration default minutes", map[string]string{"SCH": "SCH|P1|F1|||||||20"}, func(t *testing.T, ev Event) {
			if ev.Duration != 20*time.Minute {
				t.Errorf("duration %v", ev.Duration)
			}
		}},
		{"legal name preferred", map[string]string{"PID": "PID|1||M1^^^NC^MR||Nick^Jo^^^^^N~Doe^Joanna^^^^^L"}, func(t *testing.T, ev Event) {
			if ev.Patient.FirstName != "Joanna" || ev.Patient.LastName != "Doe" {
				t.Errorf("name %q %q", ev.Patient.FirstName, ev.Patient.LastName)
			}
		}},
		{"surname subcomponent", map[string]string{"PID": "PID|1||M1^^^NC^MR||van Dijk&van&Dijk^Jo"}, func(t *testing.T, ev Event) {
			if ev.Patient.LastName != "van Dijk" {
				t.Errorf("last name %q", ev.Patient.LastName)
			}
		}},
		{"only an SSN", map[string]string{"PID": "PID|1||123-45-6789^^^SSA^SS"}, func(t *testing.T, ev Event) {
			if ev.Patient.ID != "123-45-6789" || ev.Patient.IDType != "SS" {
				t.Errorf("patient id %q %q", ev.Patient.ID, ev.Patient.IDType)
			}
		}},
		{"PI before SS", map[string]string{"PID": "PID|1||123-45-6789^^^SSA^SS~E1^^^EPI^PI"}, func(t *testing.T, ev Event) {
			if ev.Patient.ID != "E1" {
				t.Errorf("patient id %q", ev.Patient.ID)
			}
		}},
		{"language from text", map[string]string{"PID": "PID|1||M1||Doe^Jo||||||||||^Vietnamese"}, func(t *testing.T, ev Event) {
			if ev.Patient.Language != "vi" {
				t.Errorf("language %q", ev.Patient.Language)
			}
		}},
		{"provider from AIG when no AIP", map[string]string{"AIS": "AIG|1|A|RES1^Dr. Resource"}, func(t *testing.T, ev Event) {
			if ev.Provider.ID != "RES1" || ev.Provider.Display != "Dr. Resource" {
				t.Errorf("provider %+v", ev.Provider)
			}
		}},
		{"type from SCH-7 without AIS", map[string]string{"AIS": "", "SCH": "SCH|P1|F1|||||ROUTINE^Routine^HL70276"}, func(t *testing.T, ev Event) {
			if ev.Type.Code != "ROUTINE" {
				t.Errorf("type %+v", ev.Type)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := MapSIU(mustParse(t, siuMsg(tc.replace)), ny)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, ev)
		})
	}
}

func TestMapSIURegion(t *testing.T) {
	t.Parallel()
	m := mustParse(t, siuMsg(map[string]string{"PID": "PID|1||M1||Doe^Jo||||||||07911 123456^PRN^CP"}))
	ev, err := Mapper{Location: time.UTC, Region: "GB"}.SIU(m)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Patient.Phone != "+447911123456" {
		t.Errorf("phone %q", ev.Patient.Phone)
	}
}

func TestMapSIUErrors(t *testing.T) {
	t.Parallel()
	ny := newYork(t)
	for _, tc := range []struct {
		name    string
		replace map[string]string
		code    ErrorCode
		loc     string
	}{
		{"not SIU", map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||ORM^O01|C1|P|2.5.1"}, CodeUnsupportedMessageType, "MSH-9.1"},
		{"S16", map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||SIU^S16|C1|P|2.5.1"}, CodeUnsupportedEventCode, "MSH-9.2"},
		{"version 2.9", map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||SIU^S12|C1|P|2.9"}, CodeUnsupportedVersion, "MSH-12.1"},
		{"no version", map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||SIU^S12|C1|P"}, CodeUnsupportedVersion, "MSH-12.1"},
		{"no control id", map[string]string{"MSH": "MSH|^~\\&|A|B|||20240314||SIU^S12||P|2.5.1"}, CodeRequiredFieldMissing, "MSH-10"},
		{"no message time", map[string]string{"MSH": "MSH|^~\\&|A|B|||||SIU^S12|C1|P|2.5.1"}, CodeRequiredFieldMissing, "MSH-7"},
		{"date-only start", map[string]string{"TQ1": "TQ1|1||||||20240315"}, CodeDataTypeError, "TQ1-7"},
		{"no start", map[string]string{"TQ1": ""}, CodeRequiredFieldMissing, "TQ1-7"},
		{"bad AIS start", map[string]string{"TQ1": "", "AIS": "AIS|1|A|S1|2024031509x"}, CodeDataTypeError, "AIS-4"},
		{"unknown unit", map[string]string{"SCH": "SCH|P1|F1|||||||30|fortnights"}, CodeTableValueNotFound, "SCH-10.1"},
		{"negative duration", map[string]string{"SCH": "SCH|P1|F1|||||||-5"}, CodeDataTypeError, "SCH-9"},
		{"huge duration", map[string]string{"SCH": "SCH|P1|F1|||||||1e300"}, CodeDataTypeError, "SCH-9"},
		{"end before start", map[string]string{"SCH": "SCH|P1|F1", "TQ1": "TQ1|1||||||20240315093000|20240315090000"}, CodeDataTypeError, "TQ1-8.1"},
		{"bad TQ1-6 unit", map[string]string{"SCH": "SCH|P1|F1", "TQ1": "TQ1|1|||||30^parsecs|20240315093000"}, CodeTableValueNotFound, "TQ1-6.2"},
		{"bad TQ-3 duration", map[string]string{"SCH": "SCH|P1|F1|||||||||^^Mx^20240315093000", "TQ1": ""}, CodeDataTypeError, "SCH-11.3"},
		{"no SCH", map[string]string{"SCH": ""}, CodeSegmentSequence, "SCH"},
		{"no PID", map[string]string{"PID": ""}, CodeSegmentSequence, "PID"},
		{"explicit null patient id", map[string]string{"PID": `PID|1||""`}, CodeRequiredFieldMissing, "PID-3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MapSIU(mustParse(t, siuMsg(tc.replace)), ny)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tc.code || e.Location() != tc.loc {
				t.Errorf("got %d at %q (%v), want %d at %q", e.Code, e.Location(), e, tc.code, tc.loc)
			}
		})
	}
	t.Run("version 2.3 names SCH-11.4", func(t *testing.T) {
		msg := "MSH|^~\\&|A|B|||20240314||SIU^S12|C1|P|2.3\rSCH|P1|F1\rPID|1||M1\r"
		_, err := MapSIU(mustParse(t, msg), ny)
		var e *Error
		if !errors.As(err, &e) || e.Location() != "SCH-11.4" || e.Code != CodeRequiredFieldMissing {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("cancel needs no start", func(t *testing.T) {
		msg := strings.Replace(siuMsg(map[string]string{"TQ1": ""}), "SIU^S12^SIU_S12", "SIU^S15^SIU_S12", 1)
		ev, err := MapSIU(mustParse(t, msg), ny)
		if err != nil || ev.Kind != KindCancel || !ev.Start.IsZero() {
			t.Errorf("ev = %+v, err = %v", ev, err)
		}
	})
	t.Run("no zone", func(t *testing.T) {
		_, err := MapSIU(mustParse(t, siuMsg(nil)), nil)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInternalError {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("nil message", func(t *testing.T) {
		if _, err := MapSIU(nil, ny); err == nil {
			t.Error("nil message accepted")
		}
	})
}

func TestErrorsQuoteNoMessageData(t *testing.T) {
	t.Parallel()
	// A value that looks like PHI in every field that can fail.
	const secret = "SECRETVALUE"
	for _, msg := range []string{
		siuMsg(map[string]string{"TQ1": "TQ1|1||||||" + secret}),
		siuMsg(map[string]string{"PID": "PID|1||M1||Doe^Jo||" + secret}),
		siuMsg(map[string]string{"SCH": "SCH|P1|F1|||||||" + secret}),
		siuMsg(map[string]string{"MSH": "MSH|^~\\&|A|B|||" + secret + "||SIU^S12|C1|P|2.5.1"}),
	} {
		out := Classify([]byte(msg), time.UTC)
		if out.Err == nil {
			t.Fatalf("accepted %q", msg)
		}
		if strings.Contains(out.Err.Error(), secret) {
			t.Errorf("error quotes data: %v", out.Err)
		}
		if ack := Ack(out.Message, out.Code, out.Err, corpusNow, "A1"); strings.Contains(string(ack), secret) {
			t.Errorf("ACK quotes data: %q", ack)
		}
	}
}
