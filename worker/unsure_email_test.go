package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// reportingChannel cannot be asked, but reports by events (SendGrid).
type reportingChannel struct {
	blindChannel
	wait   time.Duration
	resend bool
}

func (r reportingChannel) EventWait() time.Duration { return r.wait }
func (r reportingChannel) ResendUnsure() bool       { return r.resend }

var _ channels.Reporter = reportingChannel{}

var emailStep = beckon.Step{
	ID:      "remind",
	Timing:  beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
	Channel: beckon.ChannelEmail,
	Content: beckon.Contents{"en": {Subject: "Your visit", Text: "Hi {{.Patient.FirstName}}, see you {{.Appointment.Date}}."}},
}

// emailBundle is a bundle whose email channel reports by events, with an
// email whose worker died during the provider call that delivered it.
func emailBundle(t *testing.T, wait time.Duration, resend bool) (*bundle, *worker.Deliverer) {
	t.Helper()
	b := setup(t, setupOpts{step: &emailStep})
	ch := reportingChannel{blindChannel: blindChannel{b.ch}, wait: wait, resend: resend}
	d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelEmail: ch}, b.clock, quiet, worker.Config{})
	ctx := context.Background()
	if _, ok, err := b.st.SendClaim(ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: b.send.ID, Token: "dead-worker", Now: b.clock.Now()}); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	m := channels.Message{SendID: b.send.ID, ClinicID: b.clinic.ID, Channel: beckon.ChannelEmail, To: b.patient.Email, Subject: "Your visit", Text: "hello"}
	if _, err := b.st.SendCallStartMany(ctx, []beckon.SendCall{{
		SendID: b.send.ID, ClinicID: b.clinic.ID, ClaimToken: "dead-worker", Channel: m.Channel, To: m.To, Subject: m.Subject, Body: m.Text,
	}}, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ch.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	return b, d
}

// event is a SendGrid event naming the bundle's send, as the webhook queues it.
func (b *bundle) event(t *testing.T, name string) error {
	t.Helper()
	return worker.NewStatusApplier(b.st, b.clock, quiet).Apply(context.Background(), tasks.StatusPayload{
		Provider: tasks.ProviderSendGrid, ClinicID: b.clinic.ID, Key: "ev_" + name, ProviderID: "sg_abc",
		SendID: b.send.ID, Event: name, At: b.clock.Now(),
	})
}

func TestAbandonedEmailSettledByEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("an event names it: recorded from it, never resent", func(t *testing.T) {
		t.Parallel()
		b, d := emailBundle(t, 10*time.Minute, true)
		if err := b.event(t, "processed"); !errors.Is(err, worker.ErrMessageNotYetRecorded) {
			t.Fatalf("an event before the record must be retried later, got %v", err)
		}
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		s := b.reload(t)
		if s.Status != beckon.SendSent {
			t.Fatalf("send = %s (%s), want sent", s.Status, s.Reason)
		}
		if c := b.ch.calls.Load(); c != 1 {
			t.Fatalf("provider called %d times, want 1", c)
		}
		m, err := b.st.MessageGet(ctx, b.clinic.ID, s.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Provider != tasks.ProviderSendGrid || m.ProviderID != "sg_abc" || m.Subject != "Your visit" || m.Body != "hello" {
			t.Fatalf("message = %s/%s %q %q, want the call's content with the event's provider id", m.Provider, m.ProviderID, m.Subject, m.Body)
		}
		// The retried event now applies to the recorded message.
		if err := b.event(t, "processed"); err != nil {
			t.Fatal(err)
		}
		if m, _ = b.st.MessageGet(ctx, b.clinic.ID, s.MessageID); m.Status != beckon.MessageSent {
			t.Fatalf("message status %s, want sent", m.Status)
		}
	})

	t.Run("no event yet: waited for, then resent as the clinic chose", func(t *testing.T) {
		t.Parallel()
		b, d := emailBundle(t, 10*time.Minute, true)
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendClaimed || b.ch.calls.Load() != 1 {
			t.Fatalf("send = %s after %d calls, want still claimed, waiting for events", s.Status, b.ch.calls.Load())
		}
		// Left alone until the next look, a minute on, not every claim timeout.
		b.clock.Advance(30 * time.Second)
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); !errors.Is(err, worker.ErrBusy) {
			t.Fatalf("looked at again before its time: %v", err)
		}
		b.clock.Advance(10 * time.Minute)
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent || b.ch.calls.Load() != 2 {
			t.Fatalf("send = %s after %d calls, want sent again (may duplicate)", s.Status, b.ch.calls.Load())
		}
	})

	t.Run("an event arriving while it is waited for settles it at once", func(t *testing.T) {
		t.Parallel()
		b, d := emailBundle(t, 10*time.Minute, true)
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendClaimed {
			t.Fatalf("send = %s, want claimed, waiting for events", s.Status)
		}
		if err := b.event(t, "delivered"); !errors.Is(err, worker.ErrMessageNotYetRecorded) {
			t.Fatalf("got %v, want the event kept for later", err)
		}
		// No time passes: the word wakes the waiting claim.
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent || b.ch.calls.Load() != 1 {
			t.Fatalf("send = %s after %d calls, want sent from the event", s.Status, b.ch.calls.Load())
		}
	})

	t.Run("no webhook, clinic chose resend: resent at once", func(t *testing.T) {
		t.Parallel()
		b, d := emailBundle(t, 0, true)
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent || b.ch.calls.Load() != 2 {
			t.Fatalf("send = %s after %d calls, want sent again", s.Status, b.ch.calls.Load())
		}
	})

	t.Run("no webhook, clinic chose record unknown; a late event still settles it", func(t *testing.T) {
		t.Parallel()
		b, d := emailBundle(t, 0, false)
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendUnknown || b.ch.calls.Load() != 1 {
			t.Fatalf("send = %s after %d calls, want unknown, not resent", s.Status, b.ch.calls.Load())
		}
		// The event comes after all: the send is reopened and recorded.
		if err := b.event(t, "delivered"); !errors.Is(err, worker.ErrMessageNotYetRecorded) {
			t.Fatalf("got %v, want the event kept for later", err)
		}
		if s := b.reload(t); s.Status != beckon.SendClaimed {
			t.Fatalf("send = %s, want reopened", s.Status)
		}
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent || b.ch.calls.Load() != 1 {
			t.Fatalf("send = %s after %d calls, want sent from the event, not resent", s.Status, b.ch.calls.Load())
		}
	})

	t.Run("an event of another clinic's send changes nothing", func(t *testing.T) {
		t.Parallel()
		b, d := emailBundle(t, 0, false)
		other := setup(t, setupOpts{st: b.st})
		err := worker.NewStatusApplier(b.st, b.clock, quiet).Apply(ctx, tasks.StatusPayload{
			Provider: tasks.ProviderSendGrid, ClinicID: other.clinic.ID, Key: "ev_x", ProviderID: "sg_x",
			SendID: b.send.ID, Event: "delivered", At: b.clock.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.st.SendSightingGet(ctx, b.clinic.ID, b.send.ID); !errors.Is(err, beckon.ErrNotFound) {
			t.Fatalf("another clinic's event left a sighting: %v", err)
		}
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendUnknown {
			t.Fatalf("send = %s, want unknown", s.Status)
		}
	})
}
