package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/pacing"
	"github.com/beckonhealth/beckon/worker"
)

func fallbackStep() *beckon.Step { return fallbackStepOn(beckon.ChannelSMS) }

// fallbackStepOn is a reminder on channel that falls back to the other one.
func fallbackStepOn(channel beckon.Channel) *beckon.Step {
	return &beckon.Step{
		ID:       "remind",
		Timing:   beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
		Channel:  channel,
		Fallback: true,
		Content:  beckon.Contents{"en": {Subject: "Reminder", Text: "Hi {{.Patient.FirstName}}, see you {{.Appointment.Date}}."}},
	}
}

func (b *bundle) sendByID(t *testing.T, id string) (beckon.Send, error) {
	t.Helper()
	return b.st.SendGet(context.Background(), b.clinic.ID, id)
}

func (b *bundle) patientNow(t *testing.T) beckon.Patient {
	t.Helper()
	p, err := b.st.PatientGet(context.Background(), b.clinic.ID, b.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeliverPermanentFallsBackOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{step: fallbackStep()})
	b.ch.fail = []error{&channels.Error{Kind: channels.KindPermanent, Code: "21610", Reason: "twilio: recipient unsubscribed (STOP)", OptOut: true}}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	s := b.reload(t)
	if s.Status != beckon.SendFailed || !strings.Contains(s.Reason, "unsubscribed") || !strings.Contains(s.Reason, "falling back to email") {
		t.Fatalf("send = %s (%q), want failed with the reason and the fallback", s.Status, s.Reason)
	}
	if p := b.patientNow(t); p.SMSConsent != beckon.ConsentOptedOut || p.EmailConsent == beckon.ConsentOptedOut {
		t.Fatalf("consent sms=%s email=%s, want sms opted out only", p.SMSConsent, p.EmailConsent)
	}
	h, err := b.st.ConsentHistory(context.Background(), b.clinic.ID, b.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].How != beckon.ConsentProviderError || h[0].Phone != b.patient.Phone ||
		h[0].State != beckon.ConsentOptedOut || h[0].ID != "cns_"+b.send.ID {
		t.Fatalf("consent ledger %+v, want the provider's refusal of the number", h)
	}
	fb, err := b.sendByID(t, b.send.ID+worker.FallbackSuffix)
	if err != nil {
		t.Fatalf("fallback send: %v", err)
	}
	if fb.Status != beckon.SendPlanned || fb.Channel != beckon.ChannelEmail || !fb.DueAt.Equal(b.clock.Now()) {
		t.Fatalf("fallback = %+v, want planned email due now", fb)
	}
	// The fallback is refused too: it ends, and does not fall back again.
	b.ch.fail = []error{&channels.Error{Kind: channels.KindPermanent, Code: "http_400", Reason: "sendgrid: rejected"}}
	if err := b.d.Deliver(context.Background(), b.clinic.ID, fb.ID, false); err != nil {
		t.Fatal(err)
	}
	fb, _ = b.sendByID(t, fb.ID)
	if fb.Status != beckon.SendFailed || strings.Contains(fb.Reason, "falling back") {
		t.Fatalf("fallback = %s (%q), want failed without another fallback", fb.Status, fb.Reason)
	}
	if _, err := b.sendByID(t, fb.ID+worker.FallbackSuffix); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("a fallback of the fallback exists (%v)", err)
	}
	if n := b.ch.calls.Load(); n != 2 {
		t.Fatalf("channel called %d times, want 2 (one per channel)", n)
	}
}

func TestDeliverFallbackSendIsDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{step: fallbackStep()})
	b.ch.fail = []error{&channels.Error{Kind: channels.KindPermanent, Code: "21614", Reason: "twilio: To number is not a mobile number"}}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if p := b.patientNow(t); p.SMSConsent == beckon.ConsentOptedOut {
		t.Fatal("21614 is no opt-out")
	}
	if err := b.d.Deliver(context.Background(), b.clinic.ID, b.send.ID+worker.FallbackSuffix, false); err != nil {
		t.Fatal(err)
	}
	es, err := b.st.OutboxList(context.Background(), beckon.OutboxFilter{ClinicID: b.clinic.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Channel != beckon.ChannelEmail || es[0].To != b.patient.Email || es[0].Subject != "Reminder" {
		t.Fatalf("outbox = %+v, want the one email", es)
	}
}

func TestDeliverPermanentWithoutFallbackStep(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.ch.fail = []error{&channels.Error{Kind: channels.KindPermanent, Code: "21211", Reason: "twilio: invalid To number"}}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sendByID(t, b.send.ID+worker.FallbackSuffix); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("fallback planned for a step without fallback (%v)", err)
	}
}

func TestDeliverSkipsUndeliverableAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	if err := b.st.AddressMarkUndeliverable(context.Background(), beckon.UndeliverableAddress{
		ClinicID: b.clinic.ID, Channel: beckon.ChannelSMS, Address: b.patient.Phone, Reason: "twilio undelivered (error 30006)",
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if s := b.reload(t); s.Status != beckon.SendSkipped || !strings.Contains(s.Reason, "undeliverable") {
		t.Fatalf("send = %s (%q), want skipped as undeliverable", s.Status, s.Reason)
	}
	if n := b.ch.calls.Load(); n != 0 {
		t.Fatalf("channel called %d times", n)
	}
}

// pacedChannel is the fake channel with a sender rate.
type pacedChannel struct{ *fakeChannel }

func (pacedChannel) Pace() (string, float64) { return "twilio:+15550000000", 10 }

// fixedLimiter always answers wait.
type fixedLimiter struct {
	wait time.Duration
	keys []string
}

func (l *fixedLimiter) Reserve(_ context.Context, key string, perSecond float64, burst int) (time.Duration, error) {
	l.keys = append(l.keys, key)
	return l.wait, nil
}

func TestDeliverPacing(t *testing.T) {
	t.Parallel()
	paced := func(t *testing.T, wait time.Duration) (*bundle, *worker.Deliverer, *fixedLimiter) {
		b := setup(t, setupOpts{})
		l := &fixedLimiter{wait: wait}
		ch := pacedChannel{b.ch}
		d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: ch, beckon.ChannelEmail: ch}, b.clock, quiet,
			worker.Config{Limiter: l, MaxPaceWait: 5 * time.Second})
		return b, d, l
	}
	t.Run("short wait sends", func(t *testing.T) {
		t.Parallel()
		b, d, l := paced(t, 20*time.Millisecond)
		if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent || len(l.keys) != 1 || l.keys[0] != "twilio:+15550000000" {
			t.Fatalf("send %s, reservations %v", s.Status, l.keys)
		}
	})
	t.Run("long wait snoozes", func(t *testing.T) {
		t.Parallel()
		b, d, _ := paced(t, time.Minute)
		if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		s := b.reload(t)
		if s.Status != beckon.SendPlanned || !s.DueAt.Equal(b.clock.Now().Add(time.Minute)) || b.ch.calls.Load() != 0 {
			t.Fatalf("send = %s due %s, want planned a minute later, not sent", s.Status, s.DueAt)
		}
	})
	t.Run("long wait seen by a peek takes no slot", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		l := &peekLimiter{fixedLimiter{wait: time.Minute}}
		d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: pacedChannel{b.ch}}, b.clock, quiet,
			worker.Config{Limiter: l, MaxPaceWait: 5 * time.Second})
		if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendPlanned || !s.DueAt.Equal(b.clock.Now().Add(time.Minute)) || len(l.keys) != 0 {
			t.Fatalf("send = %s due %s, reservations %v: want snoozed a minute without a reservation", s.Status, s.DueAt, l.keys)
		}
	})
	t.Run("wait past the appointment skips", func(t *testing.T) {
		t.Parallel()
		b, d, _ := paced(t, 25*time.Hour)
		if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSkipped || !strings.Contains(s.Reason, "sender backlog") {
			t.Fatalf("send = %s (%q), want skipped for the backlog", s.Status, s.Reason)
		}
	})
}

// peekLimiter can also peek (the same wait), without reserving.
type peekLimiter struct{ fixedLimiter }

func (l *peekLimiter) Peek(context.Context, string, float64, int) (time.Duration, error) {
	return l.wait, nil
}

// boundedLimiter answers wait, and takes the slot only within max; it
// fails the test if the worker falls back to Peek or Reserve.
type boundedLimiter struct {
	t     *testing.T
	wait  time.Duration
	maxes []time.Duration
	taken int
}

func (l *boundedLimiter) Reserve(context.Context, string, float64, int) (time.Duration, error) {
	l.t.Error("Reserve called on a bounded limiter")
	return l.wait, nil
}

func (l *boundedLimiter) Peek(context.Context, string, float64, int) (time.Duration, error) {
	l.t.Error("Peek called on a bounded limiter")
	return l.wait, nil
}

func (l *boundedLimiter) ReserveWithin(_ context.Context, _ string, _ float64, _ int, max time.Duration) (time.Duration, bool, error) {
	l.maxes = append(l.maxes, max)
	if l.wait > max {
		return l.wait, false, nil
	}
	l.taken++
	return l.wait, true, nil
}

// TestDeliverBoundedPacing: with a limiter that reserves within a bound, a
// send makes one call bounded by MaxPaceWait; a short wait sends, a long one
// snoozes the send without a slot taken.
func TestDeliverBoundedPacing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		wait   time.Duration
		status beckon.SendStatus
		taken  int
	}{
		{"short wait sends", 20 * time.Millisecond, beckon.SendSent, 1},
		{"long wait snoozes", time.Minute, beckon.SendPlanned, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			l := &boundedLimiter{t: t, wait: tc.wait}
			d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: pacedChannel{b.ch}}, b.clock, quiet,
				worker.Config{Limiter: l, MaxPaceWait: 5 * time.Second})
			if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
				t.Fatal(err)
			}
			s := b.reload(t)
			if s.Status != tc.status || l.taken != tc.taken || len(l.maxes) != 1 || l.maxes[0] != 5*time.Second {
				t.Fatalf("send %s, %d taken, bounds %v; want %s, %d taken, one call bounded by 5s", s.Status, l.taken, l.maxes, tc.status, tc.taken)
			}
			if tc.status == beckon.SendPlanned && (!s.DueAt.Equal(b.clock.Now().Add(tc.wait)) || b.ch.calls.Load() != 0) {
				t.Fatalf("snoozed send due %s, %d calls; want due after the wait, no call", s.DueAt, b.ch.calls.Load())
			}
		})
	}
}

// batchLimiter answers asks in batches: a wait within an ask's bound is
// taken. It fails the test if the worker falls back to a call per send.
type batchLimiter struct {
	boundedLimiter
	mu   sync.Mutex
	asks []pacing.Ask
}

func (l *batchLimiter) ReserveWithin(context.Context, string, float64, int, time.Duration) (time.Duration, bool, error) {
	l.t.Error("ReserveWithin called on a batch limiter")
	return l.wait, false, nil
}

func (l *batchLimiter) ReserveBatch(_ context.Context, asks []pacing.Ask) ([]pacing.Grant, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]pacing.Grant, len(asks))
	for i, a := range asks {
		l.asks = append(l.asks, a)
		out[i] = pacing.Grant{Wait: l.wait, OK: l.wait <= a.Max}
	}
	return out, nil
}

// TestDeliverBatchPacing: with a limiter that answers in batches, a send
// asks once for its sender's slot, bounded by MaxPaceWait: a short wait
// sends, a long one snoozes the send by the wait.
func TestDeliverBatchPacing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		wait   time.Duration
		status beckon.SendStatus
	}{
		{"short wait sends", 20 * time.Millisecond, beckon.SendSent},
		{"long wait snoozes", time.Minute, beckon.SendPlanned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			l := &batchLimiter{boundedLimiter: boundedLimiter{t: t, wait: tc.wait}}
			d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: pacedChannel{b.ch}}, b.clock, quiet,
				worker.Config{Limiter: l, MaxPaceWait: 5 * time.Second})
			if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
				t.Fatal(err)
			}
			s := b.reload(t)
			want := pacing.Ask{Key: "twilio:+15550000000", PerSecond: 10, Burst: 1, Max: 5 * time.Second}
			if s.Status != tc.status || len(l.asks) != 1 || l.asks[0] != want {
				t.Fatalf("send %s, asks %+v; want %s after one ask %+v", s.Status, l.asks, tc.status, want)
			}
			if tc.status == beckon.SendPlanned && (!s.DueAt.Equal(b.clock.Now().Add(tc.wait)) || b.ch.calls.Load() != 0) {
				t.Fatalf("snoozed send due %s, %d calls; want due after the wait, no call", s.DueAt, b.ch.calls.Load())
			}
			if tc.status == beckon.SendSent && b.ch.calls.Load() != 1 {
				t.Fatalf("%d calls, want 1", b.ch.calls.Load())
			}
		})
	}
}
