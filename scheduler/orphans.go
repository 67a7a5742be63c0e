package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/tasks"
)

// orphanPage is how many active tasks one inspector call lists.
const orphanPage = 500

// requeueOrphans hands again the deliveries a stopped worker had taken from
// the queue but never claimed. asynq finds such a task only once its lease
// has expired and its recoverer runs (a minute or two); the store knows
// sooner: a send still planned (or claimed and not renewed) well after it
// was due, while its task is active, is held by no live worker. It is
// enqueued again under a task id of its own; the claim keeps it at most
// once whichever task comes first. Runs at most once per half claim timeout.
func (p *Pump) requeueOrphans(ctx context.Context, now time.Time) (int, error) {
	if p.cfg.Inspector == nil {
		return 0, nil
	}
	if !p.due(&p.orphansAt, now, p.cfg.ClaimTimeout/2) {
		return 0, nil
	}
	byID := map[string]string{} // send id → active task id
	for page := 1; ; page++ {
		active, err := p.cfg.Inspector.ListActiveTasks(p.cfg.Queue, asynq.PageSize(orphanPage), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("list active tasks: %w", err)
		}
		for _, t := range active {
			if t.Type != tasks.TypeDeliver {
				continue
			}
			if dp, err := tasks.ParseDeliverPayload(t.Payload); err == nil {
				byID[dp.SendID] = t.ID
			}
		}
		if len(active) < orphanPage {
			break
		}
	}
	seen := make(map[string]bool, len(byID))
	for _, taskID := range byID {
		seen[taskID] = true
	}
	p.mu.Lock()
	for id := range p.orphaned {
		if !seen[id] {
			delete(p.orphaned, id) // asynq is done with it
		}
	}
	p.mu.Unlock()
	if len(byID) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	cutoff := now.Add(-p.cfg.ClaimTimeout)
	sends, err := p.store.SendListHeldBefore(ctx, ids, cutoff)
	if err != nil {
		return 0, fmt.Errorf("read sends of active tasks: %w", err)
	}
	n := 0
	for _, sd := range sends {
		taskID := byID[sd.ID]
		p.mu.Lock()
		done := p.orphaned[taskID]
		p.orphaned[taskID] = true
		p.mu.Unlock()
		if done {
			continue
		}
		task, err := tasks.NewDeliverTask(sd.ClinicID, sd.ID)
		if err != nil {
			return n, err
		}
		_, err = p.client.EnqueueContext(ctx, task,
			asynq.TaskID(taskID+":orphan:"+strconv.FormatInt(now.UnixMilli(), 10)),
			asynq.Queue(p.cfg.Queue),
			asynq.MaxRetry(p.cfg.MaxRetry),
		)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return n, fmt.Errorf("enqueue orphaned send %s: %w", sd.ID, err)
		}
		n++
		p.logger.Warn("delivery task held by a stopped worker: handed again",
			slog.String("send_id", sd.ID), slog.String("clinic_id", sd.ClinicID), slog.String("status", string(sd.Status)))
	}
	return n, nil
}

// pruneCalls deletes old provider call records, at most once per pruneEvery.
func (p *Pump) pruneCalls(ctx context.Context, now time.Time) error {
	if !p.due(&p.prunedAt, now, pruneEvery) {
		return nil
	}
	// A settled send's call is kept an hour (for the statuses that follow
	// it); an unsettled one's a week, past any provider's lookup window.
	_, err := p.store.SendCallPrune(ctx, now.Add(-time.Hour), now.Add(-7*24*time.Hour), p.cfg.BatchSize)
	if err != nil {
		return fmt.Errorf("prune provider calls: %w", err)
	}
	return nil
}

// pruneEvery is how often old provider call records are pruned.
const pruneEvery = 10 * time.Minute
