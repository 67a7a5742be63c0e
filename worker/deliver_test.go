package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/links"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/worker"
)

// fakeChannel delivers into the outbox and fails on demand.
type fakeChannel struct {
	ob    *outbox.Channel
	calls atomic.Int32
	mu    sync.Mutex
	fail  []error // returned by the next calls, in order, before delivering
	after []error // returned by the next calls after delivering (lost responses)
}

func (f *fakeChannel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	f.calls.Add(1)
	f.mu.Lock()
	var before, after error
	if len(f.fail) > 0 {
		before, f.fail = f.fail[0], f.fail[1:]
	} else if len(f.after) > 0 {
		after, f.after = f.after[0], f.after[1:]
	}
	f.mu.Unlock()
	if before != nil {
		return channels.Receipt{}, before
	}
	r, err := f.ob.Send(ctx, m)
	if after != nil {
		return channels.Receipt{}, after
	}
	return r, err
}

func (f *fakeChannel) Lookup(ctx context.Context, m channels.Message) (channels.Receipt, bool, error) {
	return f.ob.Lookup(ctx, m)
}

// blindChannel cannot be asked what it delivered.
type blindChannel struct{ f *fakeChannel }

func (b blindChannel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	return b.f.Send(ctx, m)
}

type bundle struct {
	st      beckon.Store
	svc     *scheduler.Service
	clock   *beckon.ManualClock
	ch      *fakeChannel
	d       *worker.Deliverer
	clinic  beckon.Clinic
	patient beckon.Patient
	appt    beckon.Appointment
	send    beckon.Send // the one planned send, due at clock start + 24h
}

// 10:00 in New York: outside quiet hours.
var t0 = time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)

type setupOpts struct {
	blind bool // the channel has no Lookup
	step  *beckon.Step
	st    beckon.Store // nil: a fresh store; else another clinic in this one
	links bool         // emails carry links (worker.Config.Links)
	// metrics counts what the deliverer reports (worker.Config.Metrics).
	metrics worker.Metrics
}

func setup(t *testing.T, o setupOpts) *bundle {
	t.Helper()
	ctx := context.Background()
	st := o.st
	if st == nil {
		st = storetest.Open(t)
	}
	clock := beckon.NewManualClock(t0)
	b := &bundle{st: st, clock: clock}
	b.svc = &scheduler.Service{Store: st, Clock: clock}
	b.ch = &fakeChannel{ob: outbox.New(st, clock.Now)}
	var ch channels.Channel = b.ch
	if o.blind {
		ch = blindChannel{b.ch}
	}
	cfg := worker.Config{ClaimTimeout: 2 * time.Minute, Metrics: o.metrics}
	if o.links {
		cfg.Links = &worker.EmailLinks{Keys: &links.Keys{Store: st}, Base: func() string { return "https://beckon.example.org/" }}
	}
	b.d = worker.NewDeliverer(st, channels.Static{beckon.ChannelSMS: ch, beckon.ChannelEmail: ch}, clock, quiet, cfg)
	b.clinic = storetest.Clinic(t, st, storetest.ClinicOpts{Name: "Bay Clinic"})
	step := beckon.Step{
		ID:      "remind",
		Timing:  beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
		Channel: beckon.ChannelSMS,
		Content: beckon.Contents{"en": {Text: "Hi {{.Patient.FirstName}}, see you {{.Appointment.Date}}."}},
	}
	if o.step != nil {
		step = *o.step
	}
	if _, _, err := b.svc.PutCampaign(ctx, beckon.Campaign{ClinicID: b.clinic.ID, ID: "c", Name: "C", Active: true, Steps: []beckon.Step{step}}, "test"); err != nil {
		t.Fatal(err)
	}
	p, _, err := b.svc.UpsertPatient(ctx, beckon.Patient{
		ClinicID:  b.clinic.ID,
		ID:        "p1",
		FirstName: "Ana",
		Phone:     "+14155550123",
		Email:     "ana@example.com",
		Language:  "en",
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	b.patient = p
	res, err := b.svc.UpsertAppointment(ctx, beckon.Appointment{
		ClinicID:  b.clinic.ID,
		ID:        "a1",
		PatientID: "p1",
		Start:     t0.Add(48 * time.Hour),
		Duration:  30 * time.Minute,
		Status:    beckon.StatusBooked,
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sends) != 1 || res.Sends[0].Status != beckon.SendPlanned {
		t.Fatalf("sends = %+v, want one planned", res.Sends)
	}
	b.appt, b.send = res.Appointment, res.Sends[0]
	clock.Set(b.send.DueAt)
	return b
}

func (b *bundle) deliver(t *testing.T) error {
	t.Helper()
	return b.d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false)
}

func (b *bundle) reload(t *testing.T) beckon.Send {
	t.Helper()
	s, err := b.st.SendGet(context.Background(), b.clinic.ID, b.send.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *bundle) outboxCount(t *testing.T) int {
	t.Helper()
	es, err := b.st.OutboxList(context.Background(), beckon.OutboxFilter{ClinicID: b.clinic.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestDeliverSendsOnceAndRecords(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	s := b.reload(t)
	if s.Status != beckon.SendSent || s.MessageID == "" || s.Attempts != 1 {
		t.Fatalf("send = %+v, want sent with a message after one attempt", s)
	}
	m, err := b.st.MessageGet(context.Background(), b.clinic.ID, s.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi Ana, see you Wednesday, June 3."; m.Body != want || m.To != "+14155550123" || m.Channel != beckon.ChannelSMS {
		t.Fatalf("message = %q to %s by %s, want %q", m.Body, m.To, m.Channel, want)
	}
	if len(m.Events) == 0 || m.Events[len(m.Events)-1].Status != beckon.MessageDelivered {
		t.Fatalf("events = %+v, want ending delivered (outbox)", m.Events)
	}
	// The task is retried after it succeeded (a lost ack): nothing more happens.
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if n := b.outboxCount(t); n != 1 {
		t.Fatalf("outbox has %d messages, want 1", n)
	}
	if c := b.ch.calls.Load(); c != 1 {
		t.Fatalf("channel called %d times, want 1", c)
	}
}

func TestDeliverConcurrentDuplicatesSendOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.deliver(t)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, worker.ErrBusy) {
			t.Fatalf("deliver: %v", err)
		}
	}
	if n := b.outboxCount(t); n != 1 {
		t.Fatalf("outbox has %d messages, want 1", n)
	}
	if c := b.ch.calls.Load(); c != 1 {
		t.Fatalf("channel called %d times, want 1", c)
	}
}

func TestDeliverRechecksLatestTruth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		change     func(t *testing.T, b *bundle)
		wantStatus beckon.SendStatus
		wantReason string
	}{
		{
			name: "cancelled behind the planner's back",
			change: func(t *testing.T, b *bundle) {
				a := b.appt
				a.Status = beckon.StatusCancelled
				// Written without re-planning, as a racing writer could leave it.
				if err := b.st.AppointmentPut(context.Background(), a, a.Version); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSkipped, wantReason: "appointment cancelled",
		},
		{
			name: "appointment version moved",
			change: func(t *testing.T, b *bundle) {
				a := b.appt
				a.Version++
				if err := b.st.AppointmentPut(context.Background(), a, a.Version-1); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSuperseded, wantReason: "appointment changed",
		},
		{
			name: "patient opted out of sms",
			change: func(t *testing.T, b *bundle) {
				p := b.patient
				p.SMSConsent = beckon.ConsentOptedOut
				if err := b.st.PatientUpsert(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSkipped, wantReason: "patient opted out of sms",
		},
		{
			name: "appointment already started",
			change: func(t *testing.T, b *bundle) {
				b.clock.Set(b.appt.Start)
			},
			wantStatus: beckon.SendSkipped, wantReason: "appointment already started",
		},
		{
			name: "campaign deleted",
			change: func(t *testing.T, b *bundle) {
				if err := b.st.CampaignDelete(context.Background(), b.clinic.ID, "c"); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSuperseded, wantReason: "campaign deleted",
		},
		{
			name: "patient lost their phone",
			change: func(t *testing.T, b *bundle) {
				p := b.patient
				p.Phone = ""
				if err := b.st.PatientUpsert(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSkipped, wantReason: "no valid phone number on file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			tt.change(t, b)
			if err := b.deliver(t); err != nil {
				t.Fatal(err)
			}
			s := b.reload(t)
			if s.Status != tt.wantStatus || s.Reason != tt.wantReason {
				t.Fatalf("send is %s (%q), want %s (%q)", s.Status, s.Reason, tt.wantStatus, tt.wantReason)
			}
			if n := b.outboxCount(t); n != 0 {
				t.Fatalf("outbox has %d messages, want 0", n)
			}
		})
	}
}

func TestDeliverConfirmedSkipsUnconfirmedOnlyStep(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{step: &beckon.Step{
		ID:                "remind",
		Timing:            beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
		Channel:           beckon.ChannelSMS,
		Template:          "appointment_reminder_confirm",
		OnlyIfUnconfirmed: true,
	}})
	a := b.appt
	a.Confirmation = beckon.Confirmed
	if err := b.st.AppointmentPut(context.Background(), a, a.Version); err != nil {
		t.Fatal(err)
	}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if s := b.reload(t); s.Status != beckon.SendSkipped || s.Reason != "appointment confirmed" {
		t.Fatalf("send is %s (%q), want skipped (appointment confirmed)", s.Status, s.Reason)
	}
}

func TestDeliverInQuietHoursSnoozes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	// 23:30 in New York on the due day, still well before the appointment.
	late := time.Date(2026, 6, 2, 3, 30, 0, 0, time.UTC)
	b.clock.Set(late)
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	s := b.reload(t)
	want := time.Date(2026, 6, 2, 12, 0, 0, 0, time.UTC) // 08:00 EDT
	if s.Status != beckon.SendPlanned || !s.DueAt.Equal(want) || !s.EnqueuedAt.IsZero() {
		t.Fatalf("send = %s due %s (enqueued %s), want planned, due %s, not enqueued", s.Status, s.DueAt, s.EnqueuedAt, want)
	}
	if n := b.outboxCount(t); n != 0 {
		t.Fatalf("outbox has %d messages during quiet hours", n)
	}
}

func TestDeliverFailures(t *testing.T) {
	t.Parallel()
	t.Run("transient failure retries, then succeeds once", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.ch.fail = []error{&channels.Error{Kind: channels.KindTransient, Code: "http_500", Reason: "provider error"}}
		if err := b.deliver(t); err == nil {
			t.Fatal("want an error so that asynq retries")
		}
		if s := b.reload(t); s.Status != beckon.SendPlanned {
			t.Fatalf("after a transient failure the send is %s, want planned", s.Status)
		}
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent || s.Attempts != 2 {
			t.Fatalf("send = %s after %d attempts, want sent after 2", s.Status, s.Attempts)
		}
		if n := b.outboxCount(t); n != 1 {
			t.Fatalf("outbox has %d, want 1", n)
		}
	})
	t.Run("transient failure on the last attempt fails the send", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.ch.fail = []error{&channels.Error{Kind: channels.KindTransient, Code: "http_500", Reason: "provider error"}}
		if err := b.d.Deliver(context.Background(), b.clinic.ID, b.send.ID, true); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendFailed || !strings.Contains(s.Reason, "provider error") {
			t.Fatalf("send = %s (%q), want failed with the reason", s.Status, s.Reason)
		}
	})
	t.Run("permanent failure ends without retry", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.ch.fail = []error{&channels.Error{Kind: channels.KindPermanent, Code: "21211", Reason: "invalid 'To' number"}}
		if err := b.deliver(t); err != nil {
			t.Fatalf("a permanent failure must not ask for a retry: %v", err)
		}
		if s := b.reload(t); s.Status != beckon.SendFailed || s.Reason != "invalid 'To' number" {
			t.Fatalf("send = %s (%q), want failed (invalid 'To' number)", s.Status, s.Reason)
		}
	})
	t.Run("throttled snoozes without an error", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.ch.fail = []error{&channels.Error{Kind: channels.KindThrottled, Code: "20429", Reason: "too many requests", RetryAfter: 30 * time.Second}}
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		s := b.reload(t)
		if s.Status != beckon.SendPlanned || !s.DueAt.Equal(b.clock.Now().Add(30*time.Second)) {
			t.Fatalf("send = %s due %s, want planned 30s later", s.Status, s.DueAt)
		}
	})
	t.Run("ambiguous outcome without lookup is recorded unknown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{blind: true})
		b.ch.after = []error{&channels.Error{Kind: channels.KindAmbiguous, Code: "timeout", Reason: "no response"}}
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendUnknown {
			t.Fatalf("send = %s, want unknown", s.Status)
		}
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		if c := b.ch.calls.Load(); c != 1 {
			t.Fatalf("channel called %d times, want 1", c)
		}
	})
	t.Run("ambiguous outcome with lookup is resolved once the claim is stale", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.ch.after = []error{&channels.Error{Kind: channels.KindAmbiguous, Code: "timeout", Reason: "no response"}}
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendClaimed {
			t.Fatalf("send = %s, want still claimed: the outcome is not known yet", s.Status)
		}
		if err := b.deliver(t); !errors.Is(err, worker.ErrBusy) {
			t.Fatalf("a fresh claim must be left alone, got %v", err)
		}
		b.clock.Advance(3 * time.Minute)
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendSent {
			t.Fatalf("send = %s, want sent (found at the provider)", s.Status)
		}
		if n, c := b.outboxCount(t), b.ch.calls.Load(); n != 1 || c != 1 {
			t.Fatalf("outbox %d, channel calls %d; want 1 and 1", n, c)
		}
	})
}

// failingStore fails the first fails records of sent messages, as a lost
// database connection between the provider call and the record would.
type failingStore struct {
	beckon.Store
	fails  int64
	failed atomic.Int64
}

func (f *failingStore) SendRecordMany(ctx context.Context, recs []beckon.SentRecord, now time.Time) ([]string, error) {
	if f.failed.Add(1) <= atomic.LoadInt64(&f.fails) {
		return nil, errors.New("connection lost")
	}
	return f.Store.SendRecordMany(ctx, recs, now)
}

func TestCrashBetweenClaimAndRecord(t *testing.T) {
	t.Parallel()
	t.Run("died before the provider call: sent once", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.abandonClaim(t, beforeCall)
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		b.wantOneSent(t)
	})
	t.Run("died after the provider call: recorded, not resent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.abandonClaim(t, callReceived)
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		b.wantOneSent(t)
		if c := b.ch.calls.Load(); c != 1 {
			t.Fatalf("channel called %d times, want 1 (the dead worker's)", c)
		}
	})
	t.Run("died during a call the provider never got: looked up, then sent once", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.abandonClaim(t, callNotReceived)
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		b.wantOneSent(t)
	})
	t.Run("died during a call, appointment started since: recorded sent, never skipped", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.abandonClaim(t, callReceived)
		b.clock.Set(b.appt.Start.Add(time.Minute))
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		b.wantOneSent(t)
	})
	t.Run("record failed once after the provider call: retried, sent once", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		fs := &failingStore{Store: b.st, fails: 1}
		d := worker.NewDeliverer(fs, channels.Static{beckon.ChannelSMS: b.ch}, b.clock, quiet, worker.Config{})
		if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		b.wantOneSent(t)
	})
	t.Run("record failing after the provider call: resolved by lookup", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		fs := &failingStore{Store: b.st, fails: 100}
		d := worker.NewDeliverer(fs, channels.Static{beckon.ChannelSMS: b.ch}, b.clock, quiet, worker.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		if err := d.Deliver(ctx, b.clinic.ID, b.send.ID, false); err == nil {
			t.Fatal("want the record error")
		}
		atomic.StoreInt64(&fs.fails, 0)
		if s := b.reload(t); s.Status != beckon.SendClaimed {
			t.Fatalf("send = %s, want still claimed", s.Status)
		}
		b.clock.Advance(3 * time.Minute)
		if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
			t.Fatal(err)
		}
		b.wantOneSent(t)
	})
	t.Run("provider cannot be asked: unknown, not resent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{blind: true})
		b.abandonClaim(t, callReceived)
		if err := b.deliver(t); err != nil {
			t.Fatal(err)
		}
		if s := b.reload(t); s.Status != beckon.SendUnknown || s.Reason == "" {
			t.Fatalf("send = %s (%q), want unknown with a reason", s.Status, s.Reason)
		}
		if n := b.outboxCount(t); n != 1 {
			t.Fatalf("outbox has %d, want 1", n)
		}
	})
}

// How a worker died mid-delivery.
type abandoned int

const (
	beforeCall      abandoned = iota // claimed, no provider call started
	callNotReceived                  // the call started; the provider never got it
	callReceived                     // the call started and the provider has the message
)

// abandonClaim leaves the send as a worker that died mid-delivery would:
// claimed (and its call recorded, if it started), then three minutes pass.
func (b *bundle) abandonClaim(t *testing.T, how abandoned) {
	t.Helper()
	ctx := context.Background()
	_, ok, err := b.st.SendClaim(ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: b.send.ID, Token: "dead-worker", Now: b.clock.Now()})
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	m := channels.Message{SendID: b.send.ID, ClinicID: b.clinic.ID, Channel: beckon.ChannelSMS, To: b.patient.Phone, Text: "hello"}
	if how != beforeCall {
		lost, err := b.st.SendCallStartMany(ctx, []beckon.SendCall{{
			SendID: b.send.ID, ClinicID: b.clinic.ID, ClaimToken: "dead-worker", Channel: m.Channel, To: m.To, Body: m.Text,
		}}, b.clock.Now())
		if err != nil || len(lost) != 0 {
			t.Fatalf("record the call: %v %v", lost, err)
		}
	}
	if how == callReceived {
		if _, err := b.ch.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.deliver(t); !errors.Is(err, worker.ErrBusy) {
		t.Fatalf("a fresh claim must be left alone, got %v", err)
	}
	b.clock.Advance(3 * time.Minute)
}

func (b *bundle) wantOneSent(t *testing.T) {
	t.Helper()
	if s := b.reload(t); s.Status != beckon.SendSent || s.MessageID == "" {
		t.Fatalf("send = %s (%q), want sent", s.Status, s.Reason)
	}
	if n := b.outboxCount(t); n != 1 {
		t.Fatalf("outbox has %d messages, want exactly 1", n)
	}
	ms, err := b.st.MessageList(context.Background(), beckon.MessageFilter{ClinicID: b.clinic.ID, SendID: b.send.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("message log has %d entries for the send, want 1", len(ms))
	}
}

// quiet discards logs; tests assert on the store, not on log lines.
var quiet = slog.New(slog.DiscardHandler)
