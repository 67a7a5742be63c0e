package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// siu builds an SIU message for appointment id, sent at sent, starting at start.
func siu(trigger, control, id string, sent, start time.Time) string {
	segs := []string{
		fmt.Sprintf("MSH|^~\\&|EPIC|NORTHCLINIC|BECKON|BECKON|%s||SIU^%s^SIU_S12|%s|P|2.5.1", sent.UTC().Format("20060102150405")+"+0000", trigger, control),
		fmt.Sprintf("SCH|PL-%s^EPIC|%s^EPIC|||||CHECKUP^Checkup|NORMAL|30|MIN|||||||||||||Booked", id, id),
		fmt.Sprintf("TQ1|1||||||%s+0000", start.UTC().Format("200601021504")),
		"PID|1||MRN-77^^^NORTHCLINIC^MR||Rivera^Maria||19850401|||||^PRN^CP^^1^617^5550142|||es",
	}
	return strings.Join(segs, "\r") + "\r"
}

// feedApp starts Beckon with an MLLP listener, a campaign of two steps, and
// the sending facility NORTHCLINIC allowed for the demo clinic. idle is the
// MLLP idle timeout: short only for the test of the timeout itself, since a
// loaded machine can leave a test's connection quiet for seconds.
func feedApp(t *testing.T, backend string, idle ...string) *app {
	t.Helper()
	return setUpFeeds(startAppEnv(t, backend, feedEnv(idle...)))
}

// feedAppClock is feedApp on a clock the test moves (startAppClock).
func feedAppClock(t *testing.T, backend string) *app {
	t.Helper()
	return setUpFeeds(startAppClock(t, backend, feedEnv()))
}

func feedEnv(idle ...string) map[string]string {
	return map[string]string{
		"BECKON_MLLP_ADDR":         "127.0.0.1:0",
		"BECKON_MLLP_IDLE_TIMEOUT": cmp.Or(append(idle, "")[0], "1m"),
	}
}

func setUpFeeds(a *app) *app {
	a.t.Helper()
	a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{
		"sending_facilities": []string{"NORTHCLINIC"},
	}, nil)
	a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/reminders", map[string]any{
		"name": "Reminders",
		"steps": []map[string]any{
			{"id": "sms-72h", "offset": "-72h", "channel": "sms", "template": "appointment_reminder"},
			{"id": "sms-24h", "offset": "-24h", "channel": "sms", "template": "appointment_reminder_confirm", "only_if_unconfirmed": true},
		},
	}, nil)
	return a
}

func (a *app) appointment(id string) appointmentView {
	a.t.Helper()
	var v appointmentView
	a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/"+id, nil, &v)
	return v
}

func countStatus(v appointmentView, version int64, status string) int {
	n := 0
	for _, s := range v.Sends {
		if s.AppointmentVersion == version && s.Status == status {
			n++
		}
	}
	return n
}

// mllpConn is a client end of an MLLP connection.
type mllpConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialMLLP(t *testing.T, addr string) *mllpConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &mllpConn{t: t, c: c, r: bufio.NewReader(c)}
}

// send writes one frame, in two parts (a partial write), and reads the ACK.
func (m *mllpConn) send(msg string) string {
	m.t.Helper()
	frame := append(append([]byte{0x0B}, msg...), 0x1C, 0x0D)
	half := len(frame) / 2
	for _, part := range [][]byte{frame[:half], frame[half:]} {
		if _, err := m.c.Write(part); err != nil {
			m.t.Fatal(err)
		}
	}
	_ = m.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := m.r.ReadByte()
	if err != nil || b != 0x0B {
		m.t.Fatalf("ack start: %v %x", err, b)
	}
	body, err := m.r.ReadBytes(0x1C)
	if err != nil {
		m.t.Fatal(err)
	}
	if cr, err := m.r.ReadByte(); err != nil || cr != 0x0D {
		m.t.Fatalf("ack end: %v", err)
	}
	return string(body[:len(body)-1])
}

func ackCode(t *testing.T, ack, control string) string {
	t.Helper()
	for _, seg := range strings.Split(ack, "\r") {
		f := strings.Split(seg, "|")
		if f[0] == "MSA" {
			if len(f) < 3 || f[2] != control {
				t.Fatalf("MSA does not echo %s: %q", control, seg)
			}
			return f[1]
		}
	}
	t.Fatalf("no MSA in ack")
	return ""
}

// scheduleStory sends S12, S13, S15 (and the S15 again) through send and
// checks what happened to the appointment's sends after each.
func scheduleStory(t *testing.T, a *app, id string, send func(msg string) string) {
	t.Helper()
	t0 := time.Now().UTC().Truncate(time.Second)
	start := t0.Add(5 * 24 * time.Hour).Truncate(time.Minute)
	msgs := []struct{ trigger, control string }{{"S12", id + "-1"}, {"S13", id + "-2"}, {"S15", id + "-3"}}
	for i, m := range msgs {
		raw := siu(m.trigger, m.control, id, t0.Add(time.Duration(i)*time.Minute), start.Add(time.Duration(i)*time.Hour))
		if got := ackCode(t, send(raw), m.control); got != "AA" {
			t.Fatalf("%s: ack %s", m.trigger, got)
		}
		v := a.appointment(id)
		switch m.trigger {
		case "S12":
			if v.Version != 1 || countStatus(v, 1, "planned") != 2 {
				t.Fatalf("after S12: %+v", v)
			}
		case "S13":
			if v.Version != 2 || countStatus(v, 2, "planned") != 2 || countStatus(v, 1, "superseded") != 2 {
				t.Fatalf("after S13: %+v", v)
			}
		case "S15":
			if v.Version != 3 || v.Status != "cancelled" || countStatus(v, 2, "superseded") != 2 {
				t.Fatalf("after S15: %+v", v)
			}
			for _, s := range v.Sends {
				if s.Status == "planned" {
					t.Fatalf("after S15 send %s is still planned", s.ID)
				}
			}
		}
	}
	// The same message again changes nothing; an older one is acknowledged and ignored.
	if got := ackCode(t, send(siu("S15", id+"-3", id, t0.Add(2*time.Minute), start.Add(2*time.Hour))), id+"-3"); got != "AA" {
		t.Fatalf("repeated S15: ack %s", got)
	}
	if got := ackCode(t, send(siu("S12", id+"-0", id, t0.Add(-time.Minute), start)), id+"-0"); got != "AA" {
		t.Fatalf("late S12: ack %s", got)
	}
	if v := a.appointment(id); v.Version != 3 || v.Status != "cancelled" {
		t.Fatalf("after repeats: version %d status %s", v.Version, v.Status)
	}
}

func TestFeedsHL7(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := feedApp(t, backend)

			// MLLP: the whole story over one connection.
			conn := dialMLLP(t, a.m.App.MLLPAddr())
			scheduleStory(t, a, "APT-MLLP", conn.send)

			// POST /hl7/v2: the same story.
			post := func(key, msg string) (int, string) {
				req, _ := http.NewRequest(http.MethodPost, a.base+"/hl7/v2", strings.NewReader(msg))
				req.Header.Set("Content-Type", "x-application/hl7-v2+er7")
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			scheduleStory(t, a, "APT-HTTP", func(msg string) string {
				status, ack := post(a.key, msg)
				if status != http.StatusOK {
					t.Fatalf("POST /hl7/v2: %d %s", status, ack)
				}
				return ack
			})
			if status, _ := post("", siu("S12", "X", "X", time.Now(), time.Now().Add(time.Hour))); status != http.StatusUnauthorized {
				t.Fatalf("without a key: %d", status)
			}

			// Wrong content: AE naming the field; not SIU: AR.
			bad := siu("S12", "BAD-1", "APT-BAD", time.Now(), time.Now().Add(time.Hour))
			badStart := strings.Split(bad, "\r")
			badStart[2] = "TQ1|1||||||notatime"
			ack := conn.send(strings.Join(badStart, "\r"))
			if got := ackCode(t, ack, "BAD-1"); got != "AE" || !strings.Contains(ack, "ERR|") || !strings.Contains(ack, "TQ1^1^7") {
				t.Fatalf("bad start: %s %q", got, ack)
			}
			adt := "MSH|^~\\&|EPIC|NORTHCLINIC|BECKON|BECKON|20260101120000||ADT^A01|ADT-1|P|2.5.1\rPID|1||MRN-1\r"
			if got := ackCode(t, conn.send(adt), "ADT-1"); got != "AR" {
				t.Fatalf("ADT: %s", got)
			}
			// A facility on no allow-list: AR.
			other := strings.Replace(siu("S12", "OTH-1", "APT-O", time.Now(), time.Now().Add(48*time.Hour)), "|NORTHCLINIC|", "|ELSEWHERE|", 1)
			if got := ackCode(t, conn.send(other), "OTH-1"); got != "AR" {
				t.Fatalf("unknown facility: %s", got)
			}
			assertNoPHI(t, a.logs.String(), "Rivera", "Maria", "5550142")
		})
	}
}

func TestFeedsMLLPLimits(t *testing.T) {
	t.Parallel()
	// 5 s: long enough for a loaded machine to write the 10 MB frame
	// below, short enough to wait for the silent connection's close.
	a := feedApp(t, "embedded", "5s")
	// A 10 MB message: the connection gets an AR and is closed; the server lives on.
	big := dialMLLP(t, a.m.App.MLLPAddr())
	go func() {
		frame := append([]byte{0x0B}, bytes.Repeat([]byte("A"), 10<<20)...)
		_, _ = big.c.Write(append(frame, 0x1C, 0x0D))
	}()
	_ = big.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, _ := io.ReadAll(big.r)
	if !strings.Contains(string(resp), "MSA|AR") {
		t.Fatalf("10 MB message: answer %q", resp)
	}
	// A connection that never sends a frame end is closed after the idle timeout.
	silent := dialMLLP(t, a.m.App.MLLPAddr())
	_, _ = silent.c.Write([]byte{0x0B, 'M', 'S', 'H'})
	_ = silent.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := silent.r.ReadByte(); err != io.EOF {
		t.Fatalf("silent connection: %v, want EOF", err)
	}
	// The listener still works.
	c := dialMLLP(t, a.m.App.MLLPAddr())
	if got := ackCode(t, c.send(siu("S12", "OK-1", "APT-OK", time.Now(), time.Now().Add(48*time.Hour))), "OK-1"); got != "AA" {
		t.Fatalf("after limits: %s", got)
	}
	// Over HTTP, 10 MB is refused without reading it all.
	req, _ := http.NewRequest(http.MethodPost, a.base+"/hl7/v2", bytes.NewReader(bytes.Repeat([]byte("A"), 10<<20)))
	req.Header.Set("Authorization", "Bearer "+a.key)
	r2, err := http.DefaultClient.Do(req)
	if err == nil {
		defer r2.Body.Close()
		if r2.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("10 MB over HTTP: %d", r2.StatusCode)
		}
	}
}

// TestFeedsReplay: a message refused because its facility was not allowed
// is applied by `beckon ehr replay -failed` once the facility is added.
func TestFeedsReplay(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "beckon.db")
	a := startAppEnv(t, "embedded", map[string]string{
		"BECKON_DATABASE_URL": db,
		"BECKON_MLLP_ADDR":    "127.0.0.1:0",
	})
	a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{"sending_facilities": []string{"NORTHCLINIC"}}, nil)
	conn := dialMLLP(t, a.m.App.MLLPAddr())
	// A frame cut short by the next start block (whole as it happens, but
	// never acknowledged): archived, and never replayed.
	cut := siu("S12", "CUT-1", "APT-CUT", time.Now(), time.Now().Add(48*time.Hour))
	if _, err := conn.c.Write(append([]byte{0x0B}, cut...)); err != nil {
		t.Fatal(err)
	}
	msg := strings.Replace(siu("S12", "SOUTH-1", "APT-SOUTH", time.Now(), time.Now().Add(48*time.Hour)), "|NORTHCLINIC|", "|SOUTHCLINIC|", 1)
	if got := ackCode(t, conn.send(msg), "SOUTH-1"); got != "AR" {
		t.Fatalf("unknown facility: %s", got)
	}
	a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/feeds", map[string]any{"sending_facilities": []string{"NORTHCLINIC", "SOUTHCLINIC"}}, nil)

	var out bytes.Buffer
	m := NewMain()
	m.Stdout, m.Stderr = &out, io.Discard
	m.Getenv = func(k string) string { return map[string]string{"BECKON_DATABASE_URL": db}[k] }
	if err := m.ParseFlags(t.Context(), []string{"ehr", "replay", "-failed"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "now AA/applied") || !strings.Contains(out.String(), "skipped (broken MLLP frame)") {
		t.Fatalf("replay output: %s", out.String())
	}
	if v := a.appointment("APT-SOUTH"); v.Version != 1 {
		t.Fatalf("replayed appointment: %+v", v)
	}
	if st := a.call(http.MethodGet, "/v1/appointments/APT-CUT", nil, nil); st != http.StatusNotFound {
		t.Fatalf("the broken frame was replayed (%d)", st)
	}
}
