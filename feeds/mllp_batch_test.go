package feeds_test

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/feeds"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// mllpSIU is an SIU message of appointment id for patient mrn; an empty
// mrn leaves PID out.
func mllpSIU(trigger, control, id, mrn, name string, sent, start time.Time) string {
	segs := []string{
		fmt.Sprintf("MSH|^~\\&|EHR|NORTH|BECKON|BECKON|%s||SIU^%s^SIU_S12|%s|P|2.5.1", sent.UTC().Format("20060102150405")+"+0000", trigger, control),
		fmt.Sprintf("SCH|PL-%s^EHR|%s^EHR|||||CHECKUP^Checkup|NORMAL|30|MIN|||||||||||||Booked", id, id),
		fmt.Sprintf("TQ1|1||||||%s+0000", start.UTC().Format("200601021504")),
	}
	if mrn != "" {
		segs = append(segs, "PID|1||"+mrn+"^^^NORTH^MR||"+name+"^Pat||19850401|||||^PRN^CP^^1^617^5550142")
	}
	return strings.Join(segs, "\r") + "\r"
}

type mllpClient struct {
	c net.Conn
	r *bufio.Reader
}

func (m *mllpClient) send(msg string) (string, error) {
	if _, err := m.c.Write(append(append([]byte{0x0B}, msg...), 0x1C, 0x0D)); err != nil {
		return "", err
	}
	_ = m.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := m.r.ReadByte(); err != nil || b != 0x0B {
		return "", errors.Join(errors.New("no frame start"), err)
	}
	body, err := m.r.ReadBytes(0x1C)
	if err != nil {
		return "", err
	}
	if _, err := m.r.ReadByte(); err != nil {
		return "", err
	}
	return string(body[:len(body)-1]), nil
}

// msaCode is the acknowledgement code of an ACK whose MSA echoes control.
func msaCode(ack, control string) string {
	for _, seg := range strings.Split(ack, "\r") {
		f := strings.Split(seg, "|")
		if f[0] == "MSA" && len(f) > 2 && f[2] == control {
			return f[1]
		}
	}
	return "no MSA for " + control
}

type mllpBundle struct {
	st     beckon.Store
	clinic beckon.Clinic
	addr   string
	logs   logFile
}

// logFile is where a test's server logs: a file, so the test can read what
// was written while connections still write.
type logFile string

func (f logFile) read(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(string(f))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mllpSetup(t *testing.T) *mllpBundle {
	t.Helper()
	st := storetest.Open(t)
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{})
	storetest.Campaign(t, st, clinic.ID, storetest.CampaignOpts{})
	logs := logFile(filepath.Join(t.TempDir(), "mllp.log"))
	w, err := os.Create(string(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := beckon.SystemClock{}
	proc := &feeds.HL7Processor{Store: st, Service: &scheduler.Service{Store: st, Clock: clock, Logger: logger}, Clock: clock, Logger: logger}
	srv := feeds.NewMLLPServer(proc, feeds.MLLPConfig{ClinicID: clinic.ID})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		<-served
	})
	return &mllpBundle{st: st, clinic: clinic, addr: ln.Addr().String(), logs: logs}
}

func (b *mllpBundle) dial(t *testing.T) *mllpClient {
	t.Helper()
	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &mllpClient{c: c, r: bufio.NewReader(c)}
}

// TestMLLPGroupCommit: messages sent at once on several connections are
// applied together, yet each gets its own answer: an AA only once its
// appointment is stored, an AE or AR for a bad one without holding up or
// undoing the others, and every one archived.
func TestMLLPGroupCommit(t *testing.T) {
	t.Parallel()
	b := mllpSetup(t)
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(5 * 24 * time.Hour).Truncate(time.Minute)

	const conns, rounds = 6, 8
	type sent struct{ control, code string }
	var (
		mu      sync.Mutex
		answers []sent
		wg      sync.WaitGroup
	)
	errs := make(chan error, conns)
	for k := range conns {
		c := b.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				control := fmt.Sprintf("C%d-%d", k, i)
				id := fmt.Sprintf("APT-%d-%d", k, i)
				msg := mllpSIU("S12", control, id, fmt.Sprintf("MRN-%d-%d", k, i), "Rivera", now, start)
				switch {
				case k == 1 && i%2 == 1:
					// A new appointment without the patient a booking needs: AE.
					msg = mllpSIU("S14", control, id, "", "", now, start)
				case k == 2 && i%2 == 1:
					msg = "MSH|^~\\&|EHR|NORTH|BECKON|BECKON|20260101120000||ADT^A01|" + control + "|P|2.5.1\rPID|1||MRN-1\r" // AR
				case k == 3 && i%2 == 1:
					// Not UTF-8 and no other character set declared: refused
					// for good (AE 102) on both databases, never stored.
					msg = mllpSIU("S12", control, id, fmt.Sprintf("MRN-%d-%d", k, i), "Riv\xffera", now, start)
				}
				ack, err := c.send(msg)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", control, err)
					return
				}
				code := msaCode(ack, control)
				if code == "AA" {
					// Acknowledged: applied and committed.
					a, err := b.st.AppointmentGet(t.Context(), b.clinic.ID, id)
					if err != nil || a.Version != 1 {
						errs <- fmt.Errorf("%s acknowledged AA but appointment %s is %+v, %v", control, id, a, err)
						return
					}
				}
				mu.Lock()
				answers = append(answers, sent{control, code})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, a := range answers {
		var k, i int
		if _, err := fmt.Sscanf(a.control, "C%d-%d", &k, &i); err != nil {
			t.Fatal(err)
		}
		want := "AA"
		switch {
		case k == 1 && i%2 == 1:
			want = "AE"
		case k == 2 && i%2 == 1:
			want = "AR"
		case k == 3 && i%2 == 1:
			want = "AE"
		}
		if a.code != want {
			t.Errorf("%s: %s, want %s", a.control, a.code, want)
		}
	}
	if len(answers) != conns*rounds {
		t.Fatalf("%d answers, want %d", len(answers), conns*rounds)
	}
	// Every message is archived with its outcome, the one that is not
	// UTF-8 included (its bytes as sent).
	archived := map[string]string{}
	after := ""
	for {
		page, err := b.st.InboundList(t.Context(), beckon.InboundFilter{ClinicID: b.clinic.ID, AfterID: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			archived[m.ControlID] = m.Outcome
		}
		if len(page) < 100 {
			break
		}
		after = page[len(page)-1].ID
	}
	for _, a := range answers {
		if got, ok := archived[a.control]; !ok || got != a.code {
			t.Errorf("%s archived as %q (%v), answered %s", a.control, got, ok, a.code)
		}
	}
	logs := b.logs.read(t)
	if !strings.Contains(logs, "hl7 message") {
		t.Fatal("no message was logged")
	}
	for _, phi := range []string{"Rivera", "5550142"} {
		if strings.Contains(logs, phi) {
			t.Fatalf("logs hold PHI %q", phi)
		}
	}
}

// TestMLLPOrderOnOneConnection: the messages of one connection apply in the
// order sent, whatever the other connections do meanwhile.
func TestMLLPOrderOnOneConnection(t *testing.T) {
	t.Parallel()
	b := mllpSetup(t)
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(5 * 24 * time.Hour).Truncate(time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for k := range 3 {
		c := b.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("APT-%d", k)
			// No source time (MSH-7 the same for all): arrival order decides.
			for i := range 10 {
				control := fmt.Sprintf("O%d-%d", k, i)
				msg := mllpSIU("S13", control, id, "MRN-1", "Rivera", now, start.Add(time.Duration(i)*time.Hour))
				if i == 0 {
					msg = mllpSIU("S12", control, id, "MRN-1", "Rivera", now, start)
				}
				ack, err := c.send(msg)
				if err != nil {
					errs <- err
					return
				}
				if code := msaCode(ack, control); code != "AA" {
					errs <- fmt.Errorf("%s: %s", control, code)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := range 3 {
		a, err := b.st.AppointmentGet(t.Context(), b.clinic.ID, fmt.Sprintf("APT-%d", k))
		if err != nil {
			t.Fatal(err)
		}
		// Same MSH-7 for all: each S13 is newer by arrival, none is stale.
		if want := start.Add(9 * time.Hour); !a.Start.Equal(want) {
			t.Fatalf("APT-%d starts %s, want the last message's %s (version %d)", k, a.Start, want, a.Version)
		}
	}
}

// TestMLLPClinicTimeZoneChange: a message is mapped in the clinic's time
// zone as it is when the message is applied, not as a cache remembers it.
func TestMLLPClinicTimeZoneChange(t *testing.T) {
	t.Parallel()
	b := mllpSetup(t)
	c := b.dial(t)
	local := func(control, id string) string {
		// TQ1-7 without an offset: clinic time.
		msg := mllpSIU("S12", control, id, "MRN-1", "Rivera", time.Now(), time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC))
		if !strings.Contains(msg, "TQ1|1||||||203001151200+0000") {
			t.Fatalf("unexpected TQ1 in %q", msg)
		}
		return strings.Replace(msg, "TQ1|1||||||203001151200+0000", "TQ1|1||||||203001150900", 1)
	}
	check := func(control, id, zone string) {
		t.Helper()
		ack, err := c.send(local(control, id))
		if err != nil {
			t.Fatal(err)
		}
		if code := msaCode(ack, control); code != "AA" {
			t.Fatalf("%s: %s", control, code)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		a, err := b.st.AppointmentGet(t.Context(), b.clinic.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2030, 1, 15, 9, 0, 0, 0, loc); !a.Start.Equal(want) {
			t.Fatalf("%s starts %s, want %s", id, a.Start, want)
		}
	}
	check("Z-1", "APT-Z1", b.clinic.TimeZone)
	clinic := b.clinic
	clinic.TimeZone = "Asia/Tokyo"
	clinic.UpdatedAt = time.Now().UTC()
	if err := b.st.ClinicUpdate(t.Context(), clinic); err != nil {
		t.Fatal(err)
	}
	check("Z-2", "APT-Z2", "Asia/Tokyo")
}
