package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// eventDeliveryOptions are the asynq options of a delivery's task: its id,
// its queue, when it is due, and retries enough for a day and more
// (tasks.EventRetryDelay spaces them; the worker ends the delivery at
// tasks.EventMaxAttempts).
func eventDeliveryOptions(d beckon.WebhookDelivery, queue string) []asynq.Option {
	return []asynq.Option{
		asynq.TaskID(d.ID),
		asynq.Queue(cmp.Or(queue, tasks.DefaultQueue)),
		asynq.ProcessAt(d.NextAttemptAt),
		asynq.MaxRetry(tasks.EventMaxAttempts),
	}
}

// EnqueueEventDeliveries hands deliveries to asynq (a task that exists
// already is left as it is).
func EnqueueEventDeliveries(ctx context.Context, c *asynq.Client, queue string, ds []beckon.WebhookDelivery) error {
	var errs []error
	for _, d := range ds {
		task, err := tasks.NewEventDeliveryTask(d.ClinicID, d.ID)
		if err == nil {
			_, err = c.EnqueueContext(ctx, task, eventDeliveryOptions(d, queue)...)
		}
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// requeueEventDeliveries hands asynq the pending event deliveries that are
// due and were never handed to it (events recorded by any transaction, of
// any entrance) or not for a Recheck (Redis lost the task, or a retry is
// late). A task asynq still holds (waiting for its retry, or running) is a
// conflict and stays as it is; the delivery is marked enqueued either way.
func (p *Pump) requeueEventDeliveries(ctx context.Context, now time.Time) (int, error) {
	enqueued := 0
	for {
		ds, err := p.store.WebhookDeliveryListDue(ctx, beckon.WebhookDeliveryDueParams{
			DueBefore: now, EnqueuedBefore: now.Add(-p.cfg.Recheck), Limit: p.cfg.BatchSize,
		})
		if err != nil {
			return enqueued, fmt.Errorf("list due event deliveries: %w", err)
		}
		if len(ds) == 0 {
			return enqueued, nil
		}
		handed, fresh, gerr := p.enqueueEach(ctx, len(ds), func(i int) (*asynq.Task, string, []asynq.Option, error) {
			task, err := tasks.NewEventDeliveryTask(ds[i].ClinicID, ds[i].ID)
			return task, "event delivery " + ds[i].ID, eventDeliveryOptions(ds[i], p.cfg.Queue), err
		})
		var done []string
		for i, d := range ds {
			if handed[i] {
				done = append(done, d.ID)
			}
			if fresh[i] {
				enqueued++
			}
		}
		if err := p.store.WebhookDeliveryMarkEnqueued(ctx, done, now); err != nil {
			return enqueued, fmt.Errorf("mark event deliveries enqueued: %w", err)
		}
		if gerr != nil {
			return enqueued, gerr
		}
		if len(ds) < p.cfg.BatchSize {
			return enqueued, nil
		}
	}
}
