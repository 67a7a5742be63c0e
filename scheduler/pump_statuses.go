package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// sweepStatuses, at most once per StatusRecheck, hands the provider statuses
// still pending in the status inbox a StatusRecheck after they were last queued back to
// asynq (a status the webhook stored while Redis was down, or one Redis
// lost), and prunes statuses applied more than StatusKeep ago. Each step
// takes at most BatchSize rows: a backlog is worked off over several passes.
func (p *Pump) sweepStatuses(ctx context.Context, now time.Time) (queued, pruned int, err error) {
	if !p.due(&p.statuses, now, p.cfg.StatusRecheck) {
		return 0, 0, nil
	}
	pending, err := p.store.StatusInboxListPending(ctx, now.Add(-p.cfg.StatusRecheck), p.cfg.BatchSize)
	if err != nil {
		return 0, 0, fmt.Errorf("list pending statuses: %w", err)
	}
	// A status pending past StatusKeep names a message that was never
	// recorded (its task's retries ran out): it is given up, with its ids.
	live := pending[:0:0]
	for _, e := range pending {
		if !e.ReceivedAt.Before(now.Add(-p.cfg.StatusKeep)) {
			live = append(live, e)
			continue
		}
		if err := p.store.StatusInboxDone(ctx, e.ClinicID, e.Provider, e.Key, now); err != nil {
			return 0, 0, fmt.Errorf("give up a status: %w", err)
		}
		p.logger.Warn("provider status never applied: given up", slog.String("clinic_id", e.ClinicID),
			slog.String("provider", e.Provider), slog.String("status_id", e.ID), slog.Time("received_at", e.ReceivedAt))
	}
	queued, err = p.enqueueStatuses(ctx, live)
	if err != nil {
		return queued, 0, err
	}
	pruned, err = p.store.StatusInboxPrune(ctx, now.Add(-p.cfg.StatusKeep), p.cfg.BatchSize)
	if err != nil {
		return queued, pruned, fmt.Errorf("prune applied statuses: %w", err)
	}
	return queued, pruned, nil
}

// enqueueStatuses hands inbox entries to asynq under their status TaskID (a
// no-op for one asynq still holds) and records when it did, so that they go
// to the back of the inbox's queue. It returns how many asynq did not have.
func (p *Pump) enqueueStatuses(ctx context.Context, entries []beckon.StatusInboxEntry) (int, error) {
	handed, fresh, gerr := p.enqueueEach(ctx, len(entries), func(i int) (*asynq.Task, string, []asynq.Option, error) {
		e := entries[i]
		return asynq.NewTask(tasks.TypeStatus, e.Payload), "status " + e.ID, []asynq.Option{
			asynq.TaskID(tasks.StatusTaskID(e.Provider, e.ClinicID, e.Key)),
			asynq.Queue(p.cfg.Queue),
			asynq.MaxRetry(p.cfg.MaxRetry),
			asynq.Retention(tasks.StatusTaskRetention),
		}, nil
	})
	var ids []string
	n := 0
	for i, e := range entries {
		if handed[i] {
			ids = append(ids, e.ID)
		}
		if fresh[i] {
			n++
		}
	}
	if err := p.store.StatusInboxMarkQueued(ctx, ids, p.clock.Now()); err != nil {
		return n, fmt.Errorf("mark statuses queued: %w", err)
	}
	return n, gerr
}
