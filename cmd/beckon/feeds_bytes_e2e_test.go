package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// archived is the inbound archive row whose raw bytes hold control.
func (a *app) archived(control string) beckon.InboundMessage {
	a.t.Helper()
	return a.archivedWhere(control, func(m beckon.InboundMessage) bool {
		return bytes.Contains(m.Raw, []byte("|"+control+"|"))
	})
}

// archivedWhere waits for the inbound archive row that match says is the
// one (the archive is written as the message is answered, or just after).
func (a *app) archivedWhere(what string, match func(beckon.InboundMessage) bool) beckon.InboundMessage {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := a.m.App.Store().InboundList(a.t.Context(), beckon.InboundFilter{Limit: 1000})
		if err != nil {
			a.t.Fatal(err)
		}
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no archived message %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling the store, with a deadline
	}
}

// postHL7 sends msg to POST /hl7/v2 and returns the status and the ACK.
func (a *app) postHL7(msg []byte) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.base+"/hl7/v2", bytes.NewReader(msg))
	req.Header.Set("Content-Type", "x-application/hl7-v2+er7")
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// forEachFeedApp runs fn, in parallel, on a feedApp of each backend with an
// MLLP connection to it.
func forEachFeedApp(t *testing.T, fn func(t *testing.T, a *app, conn *mllpConn)) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := feedApp(t, backend)
			fn(t, a, dialMLLP(t, a.m.App.MLLPAddr()))
		})
	}
}

// withPID replaces the PID of an siu message and sets MSH-18 to charset.
func withPID(msg, charset, pid string) string {
	segs := strings.Split(strings.TrimSuffix(msg, "\r"), "\r")
	if charset != "" {
		segs[0] += "||||||" + charset
	}
	segs[3] = pid
	return strings.Join(segs, "\r") + "\r"
}

// TestFeedsHL7Bytes: HL7 content in another character set is decoded; NUL
// bytes, invalid UTF-8 and unsupported character sets are refused for good
// (AE/AR naming the field; 422 over HTTP) and archived as sent, on both
// backends and both transports.
func TestFeedsHL7Bytes(t *testing.T) {
	forEachFeedApp(t, func(t *testing.T, a *app, conn *mllpConn) {
		now := time.Now().UTC()
		start := now.Add(72 * time.Hour)

		// Latin-1, declared: the name is decoded, the bytes archived as sent.
		latin1 := withPID(siu("S12", "LAT-1", "APT-LAT", now, start), "8859/1",
			"PID|1||MRN-LAT^^^NORTHCLINIC^MR||Mu\xf1oz^Jos\xe9||19850401||||||^PRN^CP^^1^617^5550142")
		if got := ackCode(t, conn.send(latin1), "LAT-1"); got != "AA" {
			t.Fatalf("Latin-1 message: %s", got)
		}
		var p struct {
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		}
		a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/MRN-LAT", nil, &p)
		if p.LastName != "Muñoz" || p.FirstName != "José" {
			t.Fatalf("Latin-1 name stored as %q %q", p.FirstName, p.LastName)
		}
		if m := a.archived("LAT-1"); !bytes.Equal(m.Raw, []byte(latin1)) || m.Outcome != "AA" {
			t.Fatalf("Latin-1 archive: outcome %s, raw equal %v", m.Outcome, bytes.Equal(m.Raw, []byte(latin1)))
		}

		for _, tc := range []struct {
			name, control, charset, pid string
			want, wantERR               string
		}{
			{"NUL", "NUL-1", "", "PID|1||MRN-NUL^^^NORTHCLINIC^MR||Riv\x00era^Maria", "AE", "PID^1^5^1^1|102"},
			{"Latin-1 undeclared", "UND-1", "", "PID|1||MRN-UND^^^NORTHCLINIC^MR||Mu\xf1oz^Jose", "AE", "PID^1^5^1^1|102"},
			{"NUL escape", "ESC-1", "", "PID|1||MRN-ESC^^^NORTHCLINIC^MR||Rivera^Ma\\X00\\ria", "AE", "PID^1^5^1^2|102"},
			{"unsupported charset", "U16-1", "UNICODE UTF-16", "PID|1||MRN-U16^^^NORTHCLINIC^MR||Rivera^Maria", "AR", "MSH^1^18^1|103"},
		} {
			for _, transport := range []string{"mllp", "http"} {
				control := tc.control + "-" + transport
				id := "APT-" + control
				msg := withPID(siu("S12", control, id, now, start), tc.charset, tc.pid)
				var ack string
				if transport == "mllp" {
					ack = conn.send(msg)
				} else {
					var status int
					status, ack = a.postHL7([]byte(msg))
					if status != http.StatusUnprocessableEntity {
						t.Fatalf("%s over HTTP: status %d, want 422", tc.name, status)
					}
				}
				if got := ackCode(t, ack, control); got != tc.want || !strings.Contains(ack, "ERR||"+tc.wantERR) {
					t.Fatalf("%s over %s: %s %q", tc.name, transport, got, ack)
				}
				if strings.ContainsAny(ack, "\x00\x0b\x1c") || strings.Contains(ack, "Riv") {
					t.Fatalf("%s over %s: the ACK carries control bytes or patient data: %q", tc.name, transport, ack)
				}
				if st := a.call(http.MethodGet, "/v1/appointments/"+id, nil, nil); st != http.StatusNotFound {
					t.Fatalf("%s over %s: the appointment exists (%d)", tc.name, transport, st)
				}
				m := a.archived(control)
				if !bytes.Equal(m.Raw, []byte(msg)) || m.Result != beckon.FeedRejected || m.Outcome != tc.want || m.Detail == "" {
					t.Fatalf("%s over %s: archive %s/%s %q, raw equal %v", tc.name, transport, m.Outcome, m.Result, m.Detail, bytes.Equal(m.Raw, []byte(msg)))
				}
			}
		}
		assertNoPHI(t, a.logs.String(), "Rivera", "Maria", "Muñoz", "5550142")
	})
}

// TestFeedsHL7DroppedFields: an invalid phone, email or language is dropped,
// the message is accepted, and the AA (ERR severity W) and the archive say
// what was dropped.
func TestFeedsHL7DroppedFields(t *testing.T) {
	forEachFeedApp(t, func(t *testing.T, a *app, conn *mllpConn) {
		now := time.Now().UTC()
		msg := withPID(siu("S12", "DROP-1", "APT-DROP", now, now.Add(72*time.Hour)), "",
			"PID|1||MRN-DROP^^^NORTHCLINIC^MR||Rivera^Maria||19850401||||||^PRN^CP^^1^617^555~^NET^Internet^maria(at)example.org||Klingonese")
		for _, send := range []func(string) string{conn.send, func(m string) string {
			status, ack := a.postHL7([]byte(strings.Replace(m, "DROP-1", "DROP-2", 1)))
			if status != http.StatusOK {
				t.Fatalf("over HTTP: %d", status)
			}
			return strings.Replace(ack, "DROP-2", "DROP-1", 1)
		}} {
			ack := send(msg)
			if got := ackCode(t, ack, "DROP-1"); got != "AA" {
				t.Fatalf("ack %s: %q", got, ack)
			}
			for _, want := range []string{"ERR||PID^1^13^1|102^Data type error^HL70357|W", "ERR||PID^1^13^2^4|102", "ERR||PID^1^15^1|103"} {
				if !strings.Contains(ack, want) {
					t.Fatalf("ACK lacks %q: %q", want, ack)
				}
			}
			// After the MSH segment: its time and control id may hold "555".
			body := ack[strings.Index(ack, "\rMSA|"):]
			if strings.Contains(body, "555") || strings.Contains(body, "example.org") || strings.Contains(body, "Klingon") {
				t.Fatalf("ACK quotes a dropped value: %q", ack)
			}
		}
		if v := a.appointment("APT-DROP"); v.Status != "booked" {
			t.Fatalf("appointment: %+v", v)
		}
		var p struct {
			Phone string `json:"phone"`
			Email string `json:"email"`
		}
		a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/MRN-DROP", nil, &p)
		if p.Phone != "" || p.Email != "" {
			t.Fatalf("patient kept dropped values: %+v", p)
		}
		for _, control := range []string{"DROP-1", "DROP-2"} {
			m := a.archived(control)
			if m.Outcome != "AA" || !strings.Contains(m.Detail, "PID-13: data type error: the phone number is not a valid number") ||
				!strings.Contains(m.Detail, "PID-15") || !strings.Contains(m.Detail, "PID-13[2].4") {
				t.Fatalf("archive %s: %s %q", control, m.Outcome, m.Detail)
			}
		}
	})
}

// TestFeedsMLLPResync: a frame cut short by a start block is dropped (and
// archived), and the complete frame after it on the same connection is
// applied and acknowledged.
func TestFeedsMLLPResync(t *testing.T) {
	forEachFeedApp(t, func(t *testing.T, a *app, conn *mllpConn) {
		now := time.Now().UTC()
		broken := siu("S12", "CUT-1", "APT-CUT", now, now.Add(72*time.Hour))
		broken = broken[:len(broken)/2] // no end block
		if _, err := conn.c.Write(append([]byte{0x0B}, broken...)); err != nil {
			t.Fatal(err)
		}
		ack := conn.send(siu("S12", "WHOLE-1", "APT-WHOLE", now, now.Add(72*time.Hour)))
		if got := ackCode(t, ack, "WHOLE-1"); got != "AA" {
			t.Fatalf("complete frame after a broken one: %s %q", got, ack)
		}
		if strings.ContainsAny(ack, "\x0b\x1c") {
			t.Fatalf("ACK carries framing bytes: %q", ack)
		}
		if v := a.appointment("APT-WHOLE"); v.Version != 1 {
			t.Fatalf("complete frame not applied: %+v", v)
		}
		if st := a.call(http.MethodGet, "/v1/appointments/APT-CUT", nil, nil); st != http.StatusNotFound {
			t.Fatalf("broken frame applied (%d)", st)
		}
		if m := a.archived("CUT-1"); !bytes.Equal(m.Raw, []byte(broken)) || m.Result != beckon.FeedRejected || !strings.Contains(m.Detail, "cut short") {
			t.Fatalf("broken frame archive: %s/%s %q", m.Outcome, m.Result, m.Detail)
		}
		// The connection is in step: the next message gets its own ACK.
		if got := ackCode(t, conn.send(siu("S12", "NEXT-1", "APT-NEXT", now, now.Add(72*time.Hour))), "NEXT-1"); got != "AA" {
			t.Fatalf("next message: %s", got)
		}
		// Two messages in one frame: AR echoing the first's control id.
		two := siu("S12", "TWO-1", "APT-TWO", now, now.Add(72*time.Hour)) + siu("S12", "TWO-2", "APT-TWO", now, now.Add(72*time.Hour))
		if got := ackCode(t, conn.send(two), "TWO-1"); got != "AR" {
			t.Fatalf("two messages in a frame: %s", got)
		}
	})
}

// TestFeedsFHIRBytes: a FHIR body with invalid UTF-8 is a 400, one whose
// strings hold a NUL a 422, both OperationOutcomes, archived as sent and
// never applied.
func TestFeedsFHIRBytes(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
			appt := func(id, family string) []byte {
				return []byte(`{"resourceType":"Appointment","id":"` + id + `","status":"booked","start":"2030-01-02T10:00:00Z","end":"2030-01-02T10:30:00Z",` +
					`"contained":[{"resourceType":"Patient","id":"p1","identifier":[{"value":"MRN-F"}],"name":[{"family":"` + family + `","given":["Ana"]}],"telecom":[{"system":"phone","value":"+16175550142","use":"mobile"}]}],` +
					`"participant":[{"actor":{"reference":"#p1"},"status":"accepted"}]}`)
			}
			for _, tc := range []struct {
				name   string
				body   []byte
				status int
			}{
				{"NUL escape", appt("f-nul", `Mu\u0000oz`), http.StatusUnprocessableEntity},
				{"Latin-1 byte", appt("f-lat", "Mu\xf1oz"), http.StatusBadRequest},
			} {
				st, out, _ := a.fhir(http.MethodPost, "/fhir/r4/Appointment", tc.body)
				if st != tc.status || out["resourceType"] != "OperationOutcome" {
					t.Fatalf("%s: %d %v", tc.name, st, out)
				}
				m := a.archivedWhere(tc.name, func(m beckon.InboundMessage) bool { return bytes.Equal(m.Raw, tc.body) })
				if m.Result != beckon.FeedRejected || m.Format != beckon.FormatFHIR {
					t.Fatalf("%s: archived as %s %s", tc.name, m.Format, m.Result)
				}
			}
			for _, id := range []string{"f-nul", "f-lat"} {
				if st := a.call(http.MethodGet, "/v1/appointments/"+id, nil, nil); st != http.StatusNotFound {
					t.Fatalf("%s applied (%d)", id, st)
				}
			}
		})
	}
}
