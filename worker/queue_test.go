package worker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// testRedis is the Redis named by REDIS_URL, else an in-process one.
func testRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	var rdb *redis.Client
	if u := os.Getenv("REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		rdb = redis.NewClient(opt)
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestQueueDuplicatesDeliverOnce runs the real path through asynq: two pumps at
// once, the same send enqueued twice, and a duplicate task under another id.
// Every send reaches the channel exactly once.
func TestQueueDuplicatesDeliverOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	rdb := testRedis(t)
	queue := fmt.Sprintf("wq-%d", time.Now().UnixNano())
	clock := beckon.SystemClock{}
	svc := &scheduler.Service{Store: st, Clock: clock, Logger: quiet}
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{QuietHours: &beckon.QuietHours{}})
	if _, _, err := svc.PutCampaign(ctx, beckon.Campaign{
		ClinicID: clinic.ID, ID: "c", Name: "C", Active: true,
		Steps: []beckon.Step{{
			ID:       "soon",
			Timing:   beckon.Timing{Kind: beckon.TimingOffset, Offset: -time.Hour + 2*time.Second},
			Channel:  beckon.ChannelSMS,
			Template: "appointment_reminder",
		}},
	}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.UpsertPatient(ctx, beckon.Patient{ClinicID: clinic.ID, ID: "p", FirstName: "Ana", Phone: "+14155550123", Language: "en"}, "test"); err != nil {
		t.Fatal(err)
	}
	const n = 20
	start := clock.Now().Add(time.Hour)
	var as []beckon.Appointment
	for i := range n {
		as = append(as, beckon.Appointment{ID: fmt.Sprintf("a%d", i), PatientID: "p", Start: start, Duration: 30 * time.Minute, Status: beckon.StatusBooked})
	}
	if _, err := svc.UpsertAppointments(ctx, clinic.ID, as, "test"); err != nil {
		t.Fatal(err)
	}

	// Two pumps at once.
	cfg := scheduler.PumpConfig{Queue: queue}
	p1 := scheduler.NewPump(st, asynq.NewClientFromRedisClient(rdb), clock, quiet, cfg)
	p2 := scheduler.NewPump(st, asynq.NewClientFromRedisClient(rdb), clock, quiet, cfg)
	var wg sync.WaitGroup
	stats := make([]scheduler.PumpStats, 2)
	for i, p := range []*scheduler.Pump{p1, p2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := p.RunOnce(ctx)
			if err != nil {
				t.Error(err)
			}
			stats[i] = s
		}()
	}
	wg.Wait()
	if got := stats[0].Enqueued + stats[1].Enqueued; got != n {
		t.Fatalf("two pumps enqueued %d tasks in all, want %d (stats %+v)", got, n, stats)
	}

	// The same send enqueued again is refused by its TaskID; a duplicate task
	// under another id gets through to the worker.
	client := asynq.NewClientFromRedisClient(rdb)
	sends, err := st.SendListByAppointment(ctx, clinic.ID, "a0")
	if err != nil || len(sends) != 1 {
		t.Fatalf("sends of a0: %v %v", sends, err)
	}
	task, _ := tasks.NewDeliverTask(sends[0].ClinicID, sends[0].ID)
	if _, err := client.Enqueue(task, asynq.TaskID(sends[0].ID), asynq.Queue(queue)); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("second enqueue of a send: %v, want ErrTaskIDConflict", err)
	}
	if _, err := client.Enqueue(task, asynq.TaskID("dup-"+sends[0].ID), asynq.Queue(queue), asynq.ProcessAt(sends[0].DueAt)); err != nil {
		t.Fatal(err)
	}

	counting := &fakeChannel{ob: outbox.New(st, clock.Now)}
	d := worker.NewDeliverer(st, channels.Static{beckon.ChannelSMS: counting}, clock, quiet, worker.Config{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              8,
		Queues:                   map[string]int{queue: 1},
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		IsFailure:                func(err error) bool { return !errors.Is(err, worker.ErrBusy) },
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond },
		LogLevel:                 asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeDeliver, d)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	insp := asynq.NewInspectorFromRedisClient(rdb)
	deadline := time.Now().Add(30 * time.Second)
	for {
		qi, err := insp.GetQueueInfo(queue)
		drained := err == nil && qi.Pending+qi.Active+qi.Scheduled+qi.Retry == 0
		if drained && allSent(t, st, clinic.ID, n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v %v", qi, err)
		}
		<-time.After(50 * time.Millisecond)
	}
	if c := counting.calls.Load(); c != n {
		t.Fatalf("channel called %d times, want %d", c, n)
	}
	ms, err := st.MessageList(ctx, beckon.MessageFilter{ClinicID: clinic.ID, Limit: 100})
	if err != nil || len(ms) != n {
		t.Fatalf("message log has %d messages (%v), want %d", len(ms), err, n)
	}
}

// allSent reports whether the clinic's n appointments each have their send sent.
func allSent(t *testing.T, st beckon.Store, clinicID string, n int) bool {
	t.Helper()
	for i := range n {
		sends, err := st.SendListByAppointment(context.Background(), clinicID, fmt.Sprintf("a%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sends {
			if s.Status != beckon.SendSent {
				return false
			}
		}
	}
	return true
}
