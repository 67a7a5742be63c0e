package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// PumpConfig configures the pump. Zero fields take the defaults shown.
type PumpConfig struct {
	// Every is how often the pump runs, as a robfig/cron spec. Default "@every 1s".
	Every string
	// Horizon is how far ahead sends are handed to asynq. Default 5m.
	Horizon time.Duration
	// Recheck is how long after enqueueing a send that is still planned is handed
	// to asynq again (a no-op if Redis still has it, a restore if Redis lost it).
	// Default 30s.
	Recheck time.Duration
	// ClaimTimeout is how long a claim may go without being renewed before
	// the send is handed to a worker again to settle it (workers renew the
	// claims in flight). Default 5s.
	ClaimTimeout time.Duration
	// BatchSize is how many sends one query reads. Default 1000.
	BatchSize int
	// Parallel is how many enqueues run at once. Default 8.
	Parallel int
	// Queue is the asynq queue. Default tasks.DefaultQueue.
	Queue string
	// MaxRetry is each task's asynq retry budget. Default 10.
	MaxRetry int
	// WritebackRecheck is how often pending write-backs to the EHR are
	// handed to asynq again, and how long one may go without an update before
	// it is (a no-op while asynq holds its task; a restore when the API could
	// not enqueue it or Redis lost it). Default 1m.
	WritebackRecheck time.Duration
	// Inspector, when set, lets the pump find delivery tasks a stopped
	// worker took from the queue but never claimed, in seconds rather than
	// after asynq's lease recovery (requeueOrphans). Nil: asynq's alone.
	Inspector *asynq.Inspector
	// StatusKeep is how long a provider status stays in the status inbox once
	// applied; older ones are pruned, BatchSize at a time, once per
	// StatusRecheck.
	// Default 24h.
	StatusKeep time.Duration
	// StatusRecheck is how long a provider status may stay pending in the
	// status inbox before it is handed to asynq again (a callback stored
	// while Redis was down is applied this soon after Redis is back), and
	// how often the inbox is swept. Default 5s.
	StatusRecheck time.Duration
}

func (c PumpConfig) withDefaults() PumpConfig {
	c.Every = cmp.Or(c.Every, "@every 1s")
	c.Horizon = cmp.Or(c.Horizon, 5*time.Minute)
	c.Recheck = cmp.Or(c.Recheck, 30*time.Second)
	c.StatusRecheck = cmp.Or(c.StatusRecheck, 5*time.Second)
	c.ClaimTimeout = cmp.Or(c.ClaimTimeout, 5*time.Second)
	c.BatchSize = cmp.Or(c.BatchSize, 1000)
	c.Parallel = cmp.Or(c.Parallel, 8)
	c.Queue = cmp.Or(c.Queue, tasks.DefaultQueue)
	c.MaxRetry = cmp.Or(c.MaxRetry, 10)
	c.WritebackRecheck = cmp.Or(c.WritebackRecheck, time.Minute)
	c.StatusKeep = cmp.Or(c.StatusKeep, 24*time.Hour)
	return c
}

// Pump moves sends that are due within the horizon from the store into asynq,
// with TaskID = send id and ProcessAt = due time. Several pumps may run at once:
// the TaskID makes a second enqueue of the same send a no-op.
type Pump struct {
	cfg    PumpConfig
	store  PumpStore
	client *asynq.Client
	clock  beckon.Clock
	logger *slog.Logger

	job        cronJob
	mu         sync.Mutex
	writebacks time.Time // when pending write-backs were last re-enqueued
	orphansAt  time.Time // when active tasks were last looked at
	prunedAt   time.Time // when provider calls were last pruned
	// orphaned holds the active task ids already handed again.
	orphaned map[string]bool
	statuses time.Time // when the status inbox was last swept
	inbound  time.Time // when inbound messages were last swept
}

// PumpStats counts what one pass did.
type PumpStats struct {
	Enqueued   int // newly handed to asynq
	Present    int // asynq had them already
	StaleClaim int // abandoned claims handed back to a worker
	Writebacks int // pending write-backs handed to asynq again
	Orphans    int // tasks a stopped worker held, handed again
	Statuses   int // pending provider statuses handed to asynq again
	Pruned     int // applied provider statuses deleted from the inbox
	Inbound    int // inbound messages not yet interpreted handed to asynq again
	Events     int // event deliveries handed to asynq
}

// NewPump returns a pump; call Start to run it on its schedule, or RunOnce.
func NewPump(st PumpStore, client *asynq.Client, clock beckon.Clock, logger *slog.Logger, cfg PumpConfig) *Pump {
	return &Pump{
		cfg:      cfg.withDefaults(),
		store:    st,
		client:   client,
		clock:    clock,
		logger:   cmp.Or(logger, slog.Default()).With(slog.String("component", "pump")),
		orphaned: map[string]bool{},
	}
}

// Start runs the pump on its cron schedule until Stop.
func (p *Pump) Start(ctx context.Context) error {
	return p.job.start(ctx, p.logger, "pump", p.cfg.Every, func(ctx context.Context) error {
		_, err := p.RunOnce(ctx)
		return err
	})
}

// Stop stops the schedule and waits for a running pass to end.
func (p *Pump) Stop() { p.job.stop() }

// RunOnce does one pass: every planned send due within the horizon that asynq
// may not have is enqueued, and every abandoned claim is handed back.
func (p *Pump) RunOnce(ctx context.Context) (PumpStats, error) {
	var stats PumpStats
	now := p.clock.Now()
	for {
		sends, err := p.store.SendListDue(ctx, beckon.SendListDueParams{
			DueBefore:      now.Add(p.cfg.Horizon),
			EnqueuedBefore: now.Add(-p.cfg.Recheck),
			Limit:          p.cfg.BatchSize,
		})
		if err != nil {
			return stats, fmt.Errorf("list due sends: %w", err)
		}
		if len(sends) == 0 {
			break
		}
		enq, present, err := p.enqueue(ctx, sends, sendTaskID)
		stats.Enqueued += enq
		stats.Present += present
		if err != nil {
			return stats, err
		}
		if len(sends) < p.cfg.BatchSize {
			break
		}
	}
	stale, err := p.store.SendListStaleClaims(ctx, now.Add(-p.cfg.ClaimTimeout), p.cfg.BatchSize)
	if err != nil {
		return stats, fmt.Errorf("list stale claims: %w", err)
	}
	if len(stale) > 0 {
		enq, _, err := p.enqueue(ctx, stale, staleTaskID)
		stats.StaleClaim = enq
		if err != nil {
			return stats, err
		}
	}
	n, err := p.requeueWritebacks(ctx, now)
	stats.Writebacks = n
	if err != nil {
		return stats, err
	}
	if stats.Events, err = p.requeueEventDeliveries(ctx, now); err != nil {
		return stats, err
	}
	if stats.Orphans, err = p.requeueOrphans(ctx, now); err != nil {
		return stats, err
	}
	if err := p.pruneCalls(ctx, now); err != nil {
		return stats, err
	}
	stats.Statuses, stats.Pruned, err = p.sweepStatuses(ctx, now)
	if err != nil {
		return stats, err
	}
	if stats.Inbound, err = p.sweepInbound(ctx, now); err != nil {
		return stats, err
	}
	if stats.Enqueued+stats.StaleClaim+stats.Writebacks+stats.Statuses+stats.Pruned+stats.Orphans+stats.Inbound+stats.Events > 0 {
		p.logger.Debug("pump pass",
			slog.Int("enqueued", stats.Enqueued),
			slog.Int("present", stats.Present),
			slog.Int("stale_claims", stats.StaleClaim),
			slog.Int("writebacks", stats.Writebacks),
			slog.Int("orphans", stats.Orphans),
			slog.Int("statuses", stats.Statuses),
			slog.Int("statuses_pruned", stats.Pruned),
			slog.Int("inbound", stats.Inbound),
			slog.Int("event_deliveries", stats.Events))
	}
	return stats, nil
}

// requeueWritebacks hands pending write-backs not updated for a while to
// asynq again, at most once per WritebackRecheck: a write-back the API could
// not enqueue (Redis down) or that Redis lost would otherwise stay pending.
func (p *Pump) requeueWritebacks(ctx context.Context, now time.Time) (int, error) {
	if !p.due(&p.writebacks, now, p.cfg.WritebackRecheck) {
		return 0, nil
	}
	ws, err := p.store.WritebackListPending(ctx, now.Add(-p.cfg.WritebackRecheck), p.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("list pending write-backs: %w", err)
	}
	n, err := enqueueWritebacks(ctx, p.client, p.cfg.Queue, ws)
	if err != nil {
		return n, fmt.Errorf("enqueue write-backs: %w", err)
	}
	return n, nil
}

// due reports whether a periodic job last run at *last is due again at now
// (every interval), and if so records now as its last run.
func (p *Pump) due(last *time.Time, now time.Time, every time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !last.IsZero() && now.Before(last.Add(every)) {
		return false
	}
	*last = now
	return true
}

// sendTaskID is the TaskID of a send's delivery: the send id itself.
func sendTaskID(s beckon.Send) string { return s.ID }

// staleTaskID is the TaskID that hands an abandoned claim to a worker: one per
// claim, so that it goes through even when asynq still holds (or archived) the
// send's own task.
func staleTaskID(s beckon.Send) string { return s.ID + ":claim:" + s.ClaimToken }

// processAt is when asynq should hand a send due at due to a worker. asynq
// files a scheduled task under its whole second and forwards it once that
// second has begun, so a send due mid-second arrives a little early and the
// worker holds it to its exact time; but one due on a whole second (most
// are: appointments start on whole minutes) would arrive only after its
// second began plus a poll interval, 100-300 ms late. A millisecond earlier
// files it in the second before, so it too arrives early and goes on time.
func processAt(due time.Time) time.Time { return due.Add(-time.Millisecond) }

// enqueue hands sends to asynq under the given task ids and records that it did.
func (p *Pump) enqueue(ctx context.Context, sends []beckon.Send, taskID func(beckon.Send) string) (enqueued, present int, err error) {
	handed, fresh, gerr := p.enqueueEach(ctx, len(sends), func(i int) (*asynq.Task, string, []asynq.Option, error) {
		sd := sends[i]
		task, err := tasks.NewDeliverTask(sd.ClinicID, sd.ID)
		return task, "send " + sd.ID, []asynq.Option{
			asynq.TaskID(taskID(sd)),
			asynq.ProcessAt(processAt(sd.DueAt)),
			asynq.Queue(p.cfg.Queue),
			asynq.MaxRetry(p.cfg.MaxRetry),
		}, err
	})
	var done, again []string
	for i, sd := range sends {
		if !handed[i] {
			continue
		}
		switch {
		case fresh[i]:
			enqueued++
			done = append(done, sd.ID)
		case sd.EnqueuedAt.IsZero():
			// A send handed back (released or snoozed) since it was last
			// handed, whose TaskID asynq still holds: most likely the task
			// of the worker that just handed it back, which asynq deletes
			// once its handler returns. Look again on the next pass rather
			// than a whole recheck interval later.
			present++
			again = append(again, sd.ID)
		default:
			present++
			done = append(done, sd.ID)
		}
	}
	now := p.clock.Now()
	if err := p.store.SendMarkEnqueued(ctx, done, now); err != nil {
		return enqueued, present, fmt.Errorf("mark enqueued: %w", err)
	}
	if err := p.store.SendMarkEnqueued(ctx, again, now.Add(conflictRetry-p.cfg.Recheck)); err != nil {
		return enqueued, present, fmt.Errorf("mark enqueued: %w", err)
	}
	return enqueued, present, gerr
}

// conflictRetry is how soon a send whose TaskID asynq still held when it
// was handed back is handed again: the next pass of a pump running every
// second. Only once: that try marks it handed if asynq still holds it.
const conflictRetry = time.Second

// enqueueEach hands n tasks to asynq, Parallel at a time; task(i) builds the
// i-th, with its name (for errors) and options. handed[i] reports that asynq
// holds it now, fresh[i] that this call put it there (not a TaskID
// conflict). The first failure stops the rest and is returned.
func (p *Pump) enqueueEach(ctx context.Context, n int, task func(i int) (*asynq.Task, string, []asynq.Option, error)) (handed, fresh []bool, err error) {
	handed, fresh = make([]bool, n), make([]bool, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Parallel)
	for i := range n {
		g.Go(func() error {
			t, name, opts, err := task(i)
			if err != nil {
				return err
			}
			_, err = p.client.EnqueueContext(gctx, t, opts...)
			switch {
			case err == nil:
				fresh[i] = true
			case !errors.Is(err, asynq.ErrTaskIDConflict):
				return fmt.Errorf("enqueue %s: %w", name, err)
			}
			handed[i] = true
			return nil
		})
	}
	return handed, fresh, g.Wait()
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, slog.String("error", err.Error()))...)
}
