package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

type retentionBundle struct {
	ctx   context.Context
	st    beckon.Store
	clock *beckon.ManualClock
	now   time.Time
}

func retentionSetup(t *testing.T) *retentionBundle {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	b := &retentionBundle{ctx: t.Context(), st: storetest.Open(t), clock: beckon.NewManualClock(now), now: now}
	storetest.Clinic(t, b.st, storetest.ClinicOpts{
		ID: "cln_r",
	})
	return b
}

// messages inserts n outbound messages with a body, created at.
func (b *retentionBundle) messages(t *testing.T, prefix string, n int, at time.Time) {
	t.Helper()
	err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
		for i := range n {
			if err := q.MessageInsert(b.ctx, beckon.Message{
				ID: fmt.Sprintf("%s_%04d", prefix, i), ClinicID: "cln_r", PatientID: "P-1", Direction: beckon.Outbound,
				Channel: beckon.ChannelSMS, To: "+15555550100", Body: "Hi Pat", Status: "sent", Provider: "outbox",
				CreatedAt: at, UpdatedAt: at,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert messages: %v", err)
	}
}

func (b *retentionBundle) body(t *testing.T, id string) string {
	t.Helper()
	m, err := b.st.MessageGet(b.ctx, "cln_r", id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return m.Body
}

// TestRetentionRunOnce: a pass purges every body past the period, in
// batches of the default 1,000 rows, and nothing newer; the period is the
// injected clock's, and a second pass finds nothing.
func TestRetentionRunOnce(t *testing.T) {
	t.Parallel()
	b := retentionSetup(t)
	const old = 1005 // more than one batch
	b.messages(t, "msg_old", old, b.now.Add(-91*24*time.Hour))
	b.messages(t, "msg_recent", 3, b.now.Add(-89*24*time.Hour))
	r := scheduler.NewRetention(b.st, b.clock, slog.New(slog.DiscardHandler), scheduler.RetentionConfig{})

	got, err := r.RunOnce(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != (beckon.RetentionPurged{Messages: old}) {
		t.Fatalf("purged %+v, want %d messages", got, old)
	}
	if s := b.body(t, "msg_old_1004"); s != "" {
		t.Fatalf("old body kept: %q", s)
	}
	if s := b.body(t, "msg_recent_0000"); s != "Hi Pat" {
		t.Fatalf("recent body %q, want it kept", s)
	}
	if got, err := r.RunOnce(b.ctx); err != nil || got.Total() != 0 {
		t.Fatalf("second pass: %+v, %v; want nothing", got, err)
	}

	// Two days later on the clock the recent ones are past the period too.
	b.clock.Advance(2 * 24 * time.Hour)
	if got, err := r.RunOnce(b.ctx); err != nil || got.Messages != 3 {
		t.Fatalf("after two days: %+v, %v; want 3 messages", got, err)
	}
}

// TestRetentionSchedule: Start runs the job on its cron schedule (two
// schedulers at once, as several replicas would) and Stop ends it.
func TestRetentionSchedule(t *testing.T) {
	t.Parallel()
	b := retentionSetup(t)
	b.messages(t, "msg_old", 30, b.now.Add(-100*24*time.Hour))
	cfg := scheduler.RetentionConfig{Every: "@every 1s", BatchSize: 7, Bodies: 24 * time.Hour}
	for range 2 {
		r := scheduler.NewRetention(b.st, b.clock, slog.New(slog.DiscardHandler), cfg)
		if err := r.Start(b.ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ms, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: "cln_r", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		left := 0
		for _, m := range ms {
			if m.Body != "" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bodies left after 20s of schedule", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRetentionBadSchedule: a spec cron cannot read is refused at Start.
func TestRetentionBadSchedule(t *testing.T) {
	t.Parallel()
	r := scheduler.NewRetention(nil, beckon.SystemClock{}, nil, scheduler.RetentionConfig{Every: "every now and then"})
	if err := r.Start(context.Background()); err == nil {
		r.Stop()
		t.Fatal("a bad schedule started")
	}
}
