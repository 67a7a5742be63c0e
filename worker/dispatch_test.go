package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/worker"
)

// A wave of sends due at once, delivered concurrently (so claims and records
// are shared among them), with duplicated tasks, an unknown send and an
// undeliverable address among them: every send ends exactly once, each as a
// lone delivery would have ended it.
func TestDeliverWaveConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	const n = 60
	sends := []beckon.Send{b.send}
	for i := range n - 1 {
		pid := fmt.Sprintf("wave-p%d", i)
		if _, _, err := b.svc.UpsertPatient(ctx, beckon.Patient{
			ClinicID: b.clinic.ID, ID: pid, FirstName: "Pat", Phone: fmt.Sprintf("+1415555%04d", 1000+i), Language: "en",
		}, "test"); err != nil {
			t.Fatal(err)
		}
		res, err := b.svc.UpsertAppointment(ctx, beckon.Appointment{
			ClinicID: b.clinic.ID, ID: fmt.Sprintf("wave-a%d", i), PatientID: pid,
			Start: b.appt.Start, Duration: 30 * time.Minute, Status: beckon.StatusBooked,
		}, "test")
		if err != nil {
			t.Fatal(err)
		}
		sends = append(sends, res.Sends...)
	}
	if len(sends) != n {
		t.Fatalf("planned %d sends, want %d", len(sends), n)
	}
	bounced := sends[7]
	if err := b.st.AddressMarkUndeliverable(ctx, beckon.UndeliverableAddress{
		ClinicID: b.clinic.ID, Channel: beckon.ChannelSMS, Address: "+14155551006", Reason: "landline", At: b.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}

	// Every send once, sends 3 and 4 three times more, and an unknown send.
	ids := []string{"snd_unknown"}
	for _, s := range sends {
		ids = append(ids, s.ID)
	}
	ids = append(ids, sends[3].ID, sends[3].ID, sends[4].ID, sends[4].ID, sends[4].ID)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.d.Deliver(ctx, b.clinic.ID, id, false)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, worker.ErrBusy) {
			t.Fatalf("deliver %s: %v", ids[i], err)
		}
	}

	for _, s := range sends {
		got, err := b.st.SendGet(ctx, b.clinic.ID, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case s.ID == bounced.ID:
			if got.Status != beckon.SendSkipped || !strings.Contains(got.Reason, "undeliverable") {
				t.Fatalf("bounced send: %s (%q), want skipped as undeliverable", got.Status, got.Reason)
			}
		case got.Status != beckon.SendSent || got.MessageID == "" || got.Attempts != 1:
			t.Fatalf("send %s: %s after %d attempts, message %q; want sent once", s.ID, got.Status, got.Attempts, got.MessageID)
		default:
			m, err := b.st.MessageGet(ctx, b.clinic.ID, got.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if m.SendID != s.ID || m.PatientID != s.PatientID || !strings.HasPrefix(m.Body, "Hi ") {
				t.Fatalf("message of %s: send %q patient %q body %q", s.ID, m.SendID, m.PatientID, m.Body)
			}
		}
	}
	if c, want := int(b.ch.calls.Load()), n-1; c != want {
		t.Fatalf("channel called %d times, want %d", c, want)
	}
	if got := b.outboxCount(t); got != n-1 {
		t.Fatalf("outbox has %d messages, want %d", got, n-1)
	}
}
