package scheduler_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/tasks"
)

// A worker that took delivery tasks from the queue and stopped before
// claiming them holds them active in asynq until its lease is recovered
// (a minute or more). The pump hands them again within the claim timeout,
// except a task whose send a live worker holds (a renewed claim).
func TestPumpHandsAgainTasksAStoppedWorkerHeld(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	pump := scheduler.NewPump(b.st, asynq.NewClientFromRedisClient(b.rdb), b.clock, slog.New(slog.DiscardHandler), scheduler.PumpConfig{
		Horizon: 5 * time.Minute, Recheck: 30 * time.Second, ClaimTimeout: 10 * time.Second, Queue: b.queue,
		Inspector: b.insp,
	})
	orphan := b.send(t, b.clock.Now())
	live := b.send(t, b.clock.Now())
	if _, err := pump.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	// The "stopped" worker: takes both tasks and never finishes them.
	got := make(chan string, 2)
	release := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(b.rdb, asynq.Config{
		Queues: map[string]int{b.queue: 1}, Concurrency: 2, LogLevel: asynq.FatalLevel,
	})
	if err := srv.Start(asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		p, _ := tasks.ParseDeliverPayload(task.Payload())
		got <- p.SendID
		<-release
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(release); srv.Shutdown() })
	for range 2 {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			t.Fatal("the worker never took the tasks")
		}
	}

	// Past the claim timeout: one send is claimed by a live worker (its
	// claim just renewed), the other is still planned.
	b.clock.Advance(11 * time.Second)
	if _, ok, err := b.st.SendClaim(ctx, beckon.SendClaimParams{ClinicID: b.clin.ID, ID: live.ID, Token: "live", Now: b.clock.Now()}); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	stats, err := pump.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Orphans != 1 {
		t.Fatalf("orphans handed again = %d, want 1", stats.Orphans)
	}
	pending, err := b.insp.ListPendingTasks(b.queue)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || !strings.HasPrefix(pending[0].ID, orphan.ID+":orphan:") {
		var ids []string
		for _, p := range pending {
			ids = append(ids, p.ID)
		}
		t.Fatalf("pending tasks %v, want one for %s", ids, orphan.ID)
	}
	// Handed again once, not at every pass.
	b.clock.Advance(6 * time.Second)
	if stats, err = pump.RunOnce(ctx); err != nil || stats.Orphans != 0 {
		t.Fatalf("second pass handed %d again (%v), want 0", stats.Orphans, err)
	}
}
