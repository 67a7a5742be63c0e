package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/tasks"
)

// inboxStatus stores a provider status in the inbox, received at the clock's
// time minus age, as the webhook does while Redis is down.
func (b *pumpBundle) inboxStatus(t *testing.T, key string, age time.Duration) beckon.StatusInboxEntry {
	t.Helper()
	e := beckon.StatusInboxEntry{
		ID:         beckon.NewID("sin_"),
		ClinicID:   b.clin.ID,
		Provider:   "twilio",
		Key:        key,
		Payload:    []byte(`{"provider":"twilio","key":"` + key + `"}`),
		ReceivedAt: b.clock.Now().Add(-age),
	}
	if err := b.st.StatusInboxPut(context.Background(), []beckon.StatusInboxEntry{e}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *pumpBundle) statusTask(e beckon.StatusInboxEntry) (*asynq.TaskInfo, bool) {
	return b.task(tasks.StatusTaskID(e.Provider, e.ClinicID, e.Key))
}

func TestPumpHandsPendingStatusesBackToAsynq(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	old := b.inboxStatus(t, "SM1:delivered", time.Minute)
	fresh := b.inboxStatus(t, "SM2:delivered", time.Second)
	applied := b.inboxStatus(t, "SM3:delivered", time.Minute)
	if err := b.st.StatusInboxDone(ctx, b.clin.ID, "twilio", applied.Key, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if s := b.run(t); s.Statuses != 1 {
		t.Fatalf("stats %+v, want the status pending for a minute handed to asynq", s)
	}
	info, ok := b.statusTask(old)
	if !ok || info.Type != tasks.TypeStatus || string(info.Payload) != string(old.Payload) || info.Queue != b.queue {
		t.Fatalf("task %+v (found %v), want a %s task with the stored payload", info, ok, tasks.TypeStatus)
	}
	for _, e := range []beckon.StatusInboxEntry{fresh, applied} {
		if _, ok := b.statusTask(e); ok {
			t.Fatalf("%s was enqueued (fresh, or applied already)", e.Key)
		}
	}
	// At most once per recheck interval.
	b.clock.Advance(10 * time.Second)
	if s := b.run(t); s.Statuses != 0 {
		t.Fatalf("stats %+v, want no sweep within the recheck interval", s)
	}
	// A recheck later: the fresh one goes; the first, still held by asynq, is
	// a no-op (and goes to the back of the inbox's queue).
	b.clock.Advance(30 * time.Second)
	if s := b.run(t); s.Statuses != 1 {
		t.Fatalf("stats %+v, want only the newer status enqueued", s)
	}
	if _, ok := b.statusTask(fresh); !ok {
		t.Fatal("the newer status was not handed to asynq")
	}
	got, err := b.st.StatusInboxGet(ctx, b.clin.ID, "twilio", old.Key)
	if err != nil || !got.QueuedAt.Equal(b.clock.Now()) {
		t.Fatalf("entry %+v (%v), want queued at %s", got, err, b.clock.Now())
	}
}

func TestPumpStatusesWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	e := b.inboxStatus(t, "SM1:undelivered", time.Minute)

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	down := scheduler.NewPump(b.st, asynq.NewClientFromRedisClient(dead), b.clock, slog.New(slog.DiscardHandler),
		scheduler.PumpConfig{Recheck: 30 * time.Second, Queue: b.queue})
	if _, err := down.RunOnce(ctx); err == nil {
		t.Fatal("a pass with Redis down reported no error")
	}
	got, err := b.st.StatusInboxGet(ctx, b.clin.ID, "twilio", e.Key)
	if err != nil || !got.Pending() || !got.QueuedAt.Equal(e.ReceivedAt) {
		t.Fatalf("after the failed pass: %+v (%v), want pending and not marked queued", got, err)
	}
	// Redis is back (the live pump): the status is handed over.
	if s := b.run(t); s.Statuses != 1 {
		t.Fatalf("stats %+v, want the status handed to asynq", s)
	}
	if _, ok := b.statusTask(e); !ok {
		t.Fatal("no task for the status stored while Redis was down")
	}
}

func TestPumpPrunesAppliedStatuses(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	b.pump = scheduler.NewPump(b.st, asynq.NewClientFromRedisClient(b.rdb), b.clock, slog.New(slog.DiscardHandler),
		scheduler.PumpConfig{Recheck: 30 * time.Second, Queue: b.queue, BatchSize: 2})
	var entries []beckon.StatusInboxEntry
	for i := range 4 {
		e := b.inboxStatus(t, fmt.Sprintf("SM%d:delivered", i), 0)
		if i < 3 {
			if err := b.st.StatusInboxDone(ctx, b.clin.ID, "twilio", e.Key, b.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		entries = append(entries, e)
	}
	if s := b.run(t); s.Pruned != 0 {
		t.Fatalf("stats %+v, want nothing pruned on the day it was applied", s)
	}
	b.clock.Advance(25 * time.Hour)
	if s := b.run(t); s.Pruned != 2 {
		t.Fatalf("stats %+v, want one batch (2) pruned", s)
	}
	b.clock.Advance(time.Minute)
	if s := b.run(t); s.Pruned != 1 {
		t.Fatalf("stats %+v, want the last applied status pruned", s)
	}
	for i, e := range entries {
		_, err := b.st.StatusInboxGet(ctx, b.clin.ID, "twilio", e.Key)
		if kept := err == nil; kept != (i == 3) {
			t.Fatalf("%s kept=%v (%v); only the pending status is kept", e.Key, kept, err)
		}
	}
	// Pending for longer than StatusKeep (its message never recorded, its
	// task's retries spent): given up, so it is not offered again forever.
	if e, err := b.st.StatusInboxGet(ctx, b.clin.ID, "twilio", entries[3].Key); err != nil || e.Pending() {
		t.Fatalf("status pending a day: %+v %v, want given up", e, err)
	}
}
