package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/tasks"
)

type pumpBundle struct {
	st    beckon.Store
	clock *beckon.ManualClock
	rdb   redis.UniversalClient
	mini  *miniredis.Miniredis // nil on a real Redis
	queue string
	pump  *scheduler.Pump
	insp  *asynq.Inspector
	clin  beckon.Clinic
}

func pumpSetup(t *testing.T) *pumpBundle {
	t.Helper()
	b := &pumpBundle{
		st:    storetest.Open(t),
		clock: beckon.NewManualClock(time.Now().UTC().Truncate(time.Millisecond)),
		queue: fmt.Sprintf("pump-%d", time.Now().UnixNano()),
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		b.rdb = redis.NewClient(opt)
	} else {
		b.mini = miniredis.RunT(t)
		b.rdb = redis.NewClient(&redis.Options{Addr: b.mini.Addr()})
	}
	t.Cleanup(func() { _ = b.rdb.Close() })
	b.pump = scheduler.NewPump(b.st, asynq.NewClientFromRedisClient(b.rdb), b.clock, slog.New(slog.DiscardHandler), scheduler.PumpConfig{
		Horizon: 5 * time.Minute, Recheck: 30 * time.Second, StatusRecheck: 30 * time.Second, ClaimTimeout: 2 * time.Minute, Queue: b.queue,
	})
	b.insp = asynq.NewInspectorFromRedisClient(b.rdb)
	b.clin = storetest.Clinic(t, b.st, storetest.ClinicOpts{})
	return b
}

func (b *pumpBundle) send(t *testing.T, due time.Time) beckon.Send {
	t.Helper()
	return storetest.Send(t, b.st, b.clin.ID, storetest.SendOpts{DueAt: due})
}

func (b *pumpBundle) run(t *testing.T) scheduler.PumpStats {
	t.Helper()
	s, err := b.pump.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *pumpBundle) task(id string) (*asynq.TaskInfo, bool) {
	info, err := b.insp.GetTaskInfo(b.queue, id)
	return info, err == nil
}

func TestPumpEnqueuesOnlyInsideTheHorizon(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	now := b.clock.Now()
	soon := b.send(t, now.Add(time.Minute))
	later := b.send(t, now.Add(24*time.Hour))
	if s := b.run(t); s.Enqueued != 1 {
		t.Fatalf("stats %+v, want 1 enqueued", s)
	}
	info, ok := b.task(soon.ID)
	if !ok || info.State != asynq.TaskStateScheduled || info.NextProcessAt.Unix() != soon.DueAt.Add(-time.Millisecond).Unix() {
		t.Fatalf("task of the send due soon: %+v (found %v), want scheduled at %s", info, ok, soon.DueAt)
	}
	// A send due on a whole second is filed in the second before, so that
	// asynq hands it over early and the worker holds it to its exact time.
	whole := b.send(t, now.Truncate(time.Second).Add(2*time.Minute))
	b.clock.Advance(time.Second)
	b.run(t)
	if info, ok := b.task(whole.ID); !ok || info.NextProcessAt.Unix() != whole.DueAt.Unix()-1 {
		t.Fatalf("task of a send due on a whole second: %+v (found %v), want filed in the second before %s", info, ok, whole.DueAt)
	}
	if _, ok := b.task(later.ID); ok {
		t.Fatal("a send beyond the horizon is in Redis")
	}
	// Nothing new on the next pass; a day later the other one goes in.
	if s := b.run(t); s.Enqueued+s.Present != 0 {
		t.Fatalf("second pass %+v, want nothing (enqueued moments ago)", s)
	}
	b.clock.Advance(24 * time.Hour)
	if s := b.run(t); s.Enqueued != 1 {
		t.Fatalf("a day later: %+v, want the second send enqueued", s)
	}
}

func TestPumpRestoresWhatRedisLost(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	sd := b.send(t, b.clock.Now().Add(2*time.Minute))
	b.run(t)
	b.clock.Advance(time.Minute) // past the recheck interval
	if s := b.run(t); s.Present != 1 || s.Enqueued != 0 {
		t.Fatalf("recheck with Redis intact: %+v, want it found present", s)
	}
	if err := b.insp.DeleteTask(b.queue, sd.ID); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	if s := b.run(t); s.Enqueued != 1 {
		t.Fatalf("recheck after Redis lost the task: %+v, want it enqueued again", s)
	}
	if _, ok := b.task(sd.ID); !ok {
		t.Fatal("the task was not restored")
	}
}

// TestPumpLooksAgainAtAHandedBackSend: a worker that snoozes or releases a
// send hands it back in the store before asynq deletes its task, so a pass
// in between finds the TaskID taken. The send is looked at again on the next
// pass, not a whole recheck interval later (30 s late); a second conflict
// means asynq really holds it, and the usual interval applies.
func TestPumpLooksAgainAtAHandedBackSend(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	sd := b.send(t, b.clock.Now().Add(10*time.Second))
	other := b.send(t, b.clock.Now().Add(20*time.Second))
	for _, id := range []string{sd.ID, other.ID} {
		task, err := tasks.NewDeliverTask(b.clin.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		// The handing-back worker's task (any state takes the TaskID).
		if _, err := asynq.NewClientFromRedisClient(b.rdb).Enqueue(task, asynq.TaskID(id), asynq.Queue(b.queue), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if s := b.run(t); s.Present != 2 || s.Enqueued != 0 {
		t.Fatalf("first pass %+v, want both found present", s)
	}
	// The worker's handler returns: asynq deletes the first task.
	if err := b.insp.DeleteTask(b.queue, sd.ID); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second)
	if s := b.run(t); s.Enqueued != 1 || s.Present != 1 {
		t.Fatalf("next pass %+v, want the first enqueued and the second present again", s)
	}
	if info, ok := b.task(sd.ID); !ok || info.State != asynq.TaskStateScheduled {
		t.Fatalf("the first send's task = %+v, want it scheduled at its due time", info)
	}
	b.clock.Advance(time.Second)
	if s := b.run(t); s.Enqueued+s.Present != 0 {
		t.Fatalf("third pass %+v, want nothing before the recheck interval", s)
	}
	b.clock.Advance(30 * time.Second)
	if s := b.run(t); s.Present != 2 {
		t.Fatalf("after the recheck interval %+v, want both present", s)
	}
}

func TestPumpHandsBackAbandonedClaims(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	sd := b.send(t, b.clock.Now())
	b.run(t) // the send's own task is in Redis
	if _, ok, err := b.st.SendClaim(context.Background(), beckon.SendClaimParams{ClinicID: sd.ClinicID, ID: sd.ID, Token: "dead", Now: b.clock.Now()}); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if s := b.run(t); s.StaleClaim != 0 {
		t.Fatalf("a fresh claim was handed back: %+v", s)
	}
	b.clock.Advance(3 * time.Minute)
	if s := b.run(t); s.StaleClaim != 1 {
		t.Fatalf("stats %+v, want the abandoned claim handed back", s)
	}
	if _, ok := b.task(sd.ID + ":claim:dead"); !ok {
		t.Fatal("no task for the abandoned claim, though the send's own task still exists")
	}
}

func TestPumpRequeuesPendingWritebacks(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	now := b.clock.Now()
	// A write-back recorded while Redis was down: no task for it.
	w := beckon.Writeback{
		ID:            beckon.NewID("wbk_"),
		ClinicID:      b.clin.ID,
		AppointmentID: "A-1",
		Kind:          beckon.WritebackWebhook,
		Status:        beckon.WritebackPending,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := b.st.WritebackInsert(ctx, w); err != nil {
		t.Fatal(err)
	}
	done := w
	done.ID, done.Status = beckon.NewID("wbk_"), beckon.WritebackDone
	if err := b.st.WritebackInsert(ctx, done); err != nil {
		t.Fatal(err)
	}
	if s := b.run(t); s.Writebacks != 0 {
		t.Fatalf("a fresh write-back was re-enqueued: %+v", s)
	}
	b.clock.Advance(2 * time.Minute)
	if s := b.run(t); s.Writebacks != 1 {
		t.Fatalf("stats %+v, want the pending write-back handed to asynq", s)
	}
	info, ok := b.task(w.ID)
	if !ok || info.Type != tasks.TypeWriteback {
		t.Fatalf("task %+v (found %v), want a %s task", info, ok, tasks.TypeWriteback)
	}
	if _, ok := b.task(done.ID); ok {
		t.Fatal("a done write-back was enqueued")
	}
	// While asynq holds it, later passes change nothing.
	b.clock.Advance(2 * time.Minute)
	if s := b.run(t); s.Writebacks != 0 {
		t.Fatalf("stats %+v, want nothing new while asynq holds the task", s)
	}
}
