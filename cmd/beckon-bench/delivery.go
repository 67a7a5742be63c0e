package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/beckonhealth/beckon"
)

// campaignClinic makes a clinic with a one-step SMS campaign, the reminder
// before before each appointment, through the planning service.
func (s *stack) campaignClinic(ctx context.Context, name string, before time.Duration) (beckon.Clinic, error) {
	c, _, err := s.clinic(ctx, name)
	if err != nil {
		return c, err
	}
	_, _, err = s.svc.PutCampaign(ctx, beckon.Campaign{
		ClinicID: c.ID, ID: "burst", Name: "Burst", Active: true,
		Steps: []beckon.Step{{ID: "remind", Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -before}, Channel: beckon.ChannelSMS, Template: "appointment_reminder"}},
	}, "bench")
	return c, err
}

// plannedClinic makes a clinic with a one-step SMS campaign (one hour before)
// and its patients, through the planning service.
func (s *stack) plannedClinic(ctx context.Context, name string) (beckon.Clinic, error) {
	c, err := s.campaignClinic(ctx, name, time.Hour)
	if err != nil {
		return c, err
	}
	for i := range patients {
		_, _, err := s.svc.UpsertPatient(ctx, beckon.Patient{ClinicID: c.ID, ID: fmt.Sprintf("p%d", i), FirstName: "Pat", Phone: fmt.Sprintf("+1415555%04d", i), Language: "en"}, "bench")
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// book upserts appointments whose single send is due at due(i), a thousand
// per transaction, four transactions at a time (as a schedule sync would),
// for the plannedClinic's patients in turn.
func (s *stack) book(ctx context.Context, c beckon.Clinic, n int, due func(i int) time.Time) error {
	return s.bookFor(ctx, c, n, due, time.Hour, func(i int) string { return fmt.Sprintf("p%d", i%patients) })
}

// bookFor upserts appointments a<i> of patient(i), starting before after
// due(i), as book does.
func (s *stack) bookFor(ctx context.Context, c beckon.Clinic, n int, due func(i int) time.Time, before time.Duration, patient func(i int) string) error {
	const batch = 1000
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for from := 0; from < n; from += batch {
		g.Go(func() error {
			var as []beckon.Appointment
			for i := from; i < min(from+batch, n); i++ {
				as = append(as, beckon.Appointment{
					ID: fmt.Sprintf("a%d", i), PatientID: patient(i),
					Start: due(i).Add(before), Duration: 30 * time.Minute, Status: beckon.StatusBooked,
				})
			}
			_, err := s.svc.UpsertAppointments(gctx, c.ID, as, "bench")
			return err
		})
	}
	return g.Wait()
}

// leadTime estimates how long booking n appointments takes, with margin.
func leadTime(n int) time.Duration {
	return time.Duration(n)*time.Second/1000 + 10*time.Second
}

// benchDelivery measures M sends due at the same instant, delivered end to end
// through the Twilio stand-in, and a bare asynq server with a no-op handler on
// the same Redis with the same concurrency.
func (s *stack) benchDelivery(ctx context.Context) ([]result, error) {
	c, err := s.plannedClinic(ctx, "delivery")
	if err != nil {
		return nil, err
	}
	m := s.cfg.sends
	due := time.Now().Add(leadTime(m)).Truncate(time.Second)
	if err := s.book(ctx, c, m, func(int) time.Time { return due }); err != nil {
		return nil, err
	}
	if time.Now().After(due) {
		return nil, fmt.Errorf("booking took longer than the lead time; sends were due before it ended")
	}
	start := s.arrivals.count()
	// This process's CPU from the due time to the last arrival: Beckon's (the
	// stand-in is a child process; the database and Redis, when they are
	// servers, are apart too).
	atDue := make(chan time.Duration, 1)
	timer := time.AfterFunc(time.Until(due), func() { atDue <- cpuTime() })
	defer timer.Stop()
	last, err := s.arrivals.wait(ctx, start+m, due.Add(30*time.Minute))
	if err != nil {
		return nil, err
	}
	cpu := cpuTime() - <-atDue
	beckon := float64(m) / last.Sub(due).Seconds()

	bare, bareCPU, err := s.bareAsynq(ctx, m)
	if err != nil {
		return nil, err
	}
	return []result{
		{"delivery", "sends", float64(m), "count"},
		{"delivery", "Beckon messages/s (Twilio stand-in)", beckon, "1/s"},
		{"delivery", "bare asynq no-op tasks/s", bare, "1/s"},
		{"delivery", "ratio Beckon / bare asynq", beckon / bare, ""},
		{"delivery", "Beckon process CPU per message", float64(cpu.Microseconds()) / float64(m), "µs"},
		{"delivery", "process CPU per task, bare asynq", float64(bareCPU.Microseconds()) / float64(m), "µs"},
	}, nil
}

// bareAsynq enqueues m no-op tasks, then measures how fast one asynq server
// with Beckon's settings drains them.
func (s *stack) bareAsynq(ctx context.Context, m int) (rate float64, cpu time.Duration, err error) {
	queue := "bare-" + randomSuffix()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range m {
		g.Go(func() error {
			_, err := s.client.EnqueueContext(gctx, asynq.NewTask("noop", nil), asynq.Queue(queue), asynq.TaskID(fmt.Sprintf("n%d", i)))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	var done atomic.Int64
	finished := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(m) {
			close(finished)
		}
		return nil
	})
	srv := asynq.NewServerFromRedisClient(s.rdb, s.serverConfig(queue))
	began, cpuBefore := time.Now(), cpuTime()
	if err := srv.Start(mux); err != nil {
		return 0, 0, err
	}
	defer srv.Shutdown()
	select {
	case <-finished:
	case <-time.After(30 * time.Minute):
		return 0, 0, fmt.Errorf("bare asynq did %d of %d tasks", done.Load(), m)
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	return float64(m) / time.Since(began).Seconds(), cpuTime() - cpuBefore, nil
}
