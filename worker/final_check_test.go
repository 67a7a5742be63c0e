package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/worker"
)

// gateLimiter holds every reservation until the test opens the gate, so a
// change can be committed while a send waits for its pacing slot.
type gateLimiter struct {
	waiting chan struct{} // one value per reservation being held
	open    chan struct{}
}

func newGateLimiter() *gateLimiter {
	return &gateLimiter{waiting: make(chan struct{}, 16), open: make(chan struct{})}
}

func (l *gateLimiter) Reserve(ctx context.Context, _ string, _ float64, _ int) (time.Duration, error) {
	l.waiting <- struct{}{}
	select {
	case <-l.open:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestDeliverRechecksAfterPacingWait commits a change while the send waits
// for its sender's slot: the change wins, the provider is never called, and
// the send ends (or is handed back) as the first check would have decided.
func TestDeliverRechecksAfterPacingWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		change     func(t *testing.T, b *bundle)
		wantStatus beckon.SendStatus
		wantReason string
	}{
		{
			name: "appointment cancelled",
			change: func(t *testing.T, b *bundle) {
				a := b.appt
				a.Status = beckon.StatusCancelled
				if _, err := b.svc.UpsertAppointment(ctx, a, "test"); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSuperseded, wantReason: "appointment changed",
		},
		{
			name: "appointment cancelled behind the planner's back",
			change: func(t *testing.T, b *bundle) {
				a := b.appt
				a.Status = beckon.StatusCancelled
				if err := b.st.AppointmentPut(ctx, a, a.Version); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSkipped, wantReason: "appointment cancelled",
		},
		{
			name: "appointment moved",
			change: func(t *testing.T, b *bundle) {
				a := b.appt
				a.Start = a.Start.Add(72 * time.Hour)
				if _, err := b.svc.UpsertAppointment(ctx, a, "test"); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSuperseded, wantReason: "appointment changed",
		},
		{
			name: "patient opted out of sms",
			change: func(t *testing.T, b *bundle) {
				if _, err := b.st.ConsentRecord(ctx, beckon.ConsentChange{
					ID: "cns_stop", ClinicID: b.clinic.ID, Phone: b.patient.Phone, Channel: beckon.ChannelSMS,
					State: beckon.ConsentOptedOut, How: beckon.ConsentKeyword, Text: "STOP", At: b.clock.Now(),
				}); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSkipped, wantReason: "patient opted out of sms",
		},
		{
			name: "campaign deactivated",
			change: func(t *testing.T, b *bundle) {
				c, err := b.st.CampaignGet(ctx, b.clinic.ID, "c")
				if err != nil {
					t.Fatal(err)
				}
				c.Active = false
				if _, _, err := b.svc.PutCampaign(ctx, c, "test"); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendSuperseded, wantReason: "campaign changed",
		},
		{
			name: "quiet hours began",
			change: func(t *testing.T, b *bundle) {
				// 23:30 in New York on the due day.
				b.clock.Set(time.Date(2026, 6, 2, 3, 30, 0, 0, time.UTC))
			},
			wantStatus: beckon.SendPlanned, wantReason: "quiet hours",
		},
		{
			name: "patient's number changed",
			change: func(t *testing.T, b *bundle) {
				p := b.patient
				p.Phone = "+14155550199"
				if _, _, err := b.svc.UpsertPatient(ctx, p, "test"); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: beckon.SendPlanned, wantReason: "patient's address changed",
		},
		{
			name: "claim taken over by another worker",
			change: func(t *testing.T, b *bundle) {
				now := b.clock.Now()
				if _, ok, err := b.st.SendClaim(ctx, beckon.SendClaimParams{
					ClinicID: b.clinic.ID, ID: b.send.ID, Token: "clm_other", Now: now, StaleBefore: now.Add(time.Second),
				}); err != nil || !ok {
					t.Fatalf("take over: claimed %v, %v", ok, err)
				}
			},
			wantStatus: beckon.SendClaimed,
		},
		{
			name:       "nothing changed",
			change:     func(*testing.T, *bundle) {},
			wantStatus: beckon.SendSent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			l := newGateLimiter()
			ch := pacedChannel{b.ch}
			d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: ch, beckon.ChannelEmail: ch}, b.clock, quiet,
				worker.Config{Limiter: l})
			done := make(chan error, 1)
			go func() { done <- d.Deliver(ctx, b.clinic.ID, b.send.ID, false) }()
			select {
			case <-l.waiting:
			case err := <-done:
				t.Fatalf("delivery ended (%v) before waiting for its slot", err)
			}
			tt.change(t, b)
			close(l.open)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			s := b.reload(t)
			if s.Status != tt.wantStatus || s.Reason != tt.wantReason {
				t.Fatalf("send is %s (%q), want %s (%q)", s.Status, s.Reason, tt.wantStatus, tt.wantReason)
			}
			wantCalls := int32(0)
			if tt.wantStatus == beckon.SendSent {
				wantCalls = 1
			}
			if n := b.ch.calls.Load(); n != wantCalls {
				t.Fatalf("provider called %d times, want %d", n, wantCalls)
			}
			if n := b.outboxCount(t); n != int(wantCalls) {
				t.Fatalf("outbox has %d messages, want %d", n, wantCalls)
			}
		})
	}
}

// staleConsentStore reads every patient as opted in to SMS, as a patient
// row written concurrently with a STOP could be left: only the number's
// state in the consent ledger tells the truth.
type staleConsentStore struct{ beckon.Store }

func (s staleConsentStore) SendReadMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.SendRead, error) {
	reads, err := s.Store.SendReadMany(ctx, clinicID, ids)
	for id, r := range reads {
		if r.Patient != nil {
			p := *r.Patient
			p.SMSConsent = beckon.ConsentOptedIn
			r.Patient = &p
			reads[id] = r
		}
	}
	return reads, err
}

// TestDeliverRechecksTheNumbersConsent commits a STOP for the patient's
// number while the send waits for its slot: the final check reads the
// number's state in the ledger and the send does not go, whatever the
// patient's row says.
func TestDeliverRechecksTheNumbersConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, setupOpts{})
	l := newGateLimiter()
	ch := pacedChannel{b.ch}
	d := worker.NewDeliverer(staleConsentStore{b.st}, channels.Static{beckon.ChannelSMS: ch, beckon.ChannelEmail: ch}, b.clock, quiet,
		worker.Config{Limiter: l})
	done := make(chan error, 1)
	go func() { done <- d.Deliver(ctx, b.clinic.ID, b.send.ID, false) }()
	select {
	case <-l.waiting:
	case err := <-done:
		t.Fatalf("delivery ended (%v) before waiting for its slot", err)
	}
	if _, err := b.st.ConsentRecord(ctx, beckon.ConsentChange{
		ID: "cns_stop", ClinicID: b.clinic.ID, Phone: b.patient.Phone, Channel: beckon.ChannelSMS,
		State: beckon.ConsentOptedOut, How: beckon.ConsentKeyword, Text: "STOP", At: b.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	close(l.open)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := b.reload(t)
	if s.Status != beckon.SendSkipped || s.Reason != "patient opted out of sms" {
		t.Fatalf("send is %s (%q), want skipped (patient opted out of sms)", s.Status, s.Reason)
	}
	if n := b.ch.calls.Load(); n != 0 {
		t.Fatalf("provider called %d times, want 0", n)
	}
}
