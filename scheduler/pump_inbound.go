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

// sweepInbound, at most once per StatusRecheck, hands the inbound messages
// not yet interpreted a StatusRecheck after they were last queued back to
// asynq (a message the webhook stored while Redis was down, or one Redis
// lost), at most BatchSize a pass. The interpret task's TaskID makes it a
// no-op for a message asynq still holds.
func (p *Pump) sweepInbound(ctx context.Context, now time.Time) (int, error) {
	if !p.due(&p.inbound, now, p.cfg.StatusRecheck) {
		return 0, nil
	}
	pending, err := p.store.InboundSMSListPending(ctx, now.Add(-p.cfg.StatusRecheck), p.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("list inbound messages to interpret: %w", err)
	}
	handed, fresh, gerr := p.enqueueEach(ctx, len(pending), func(i int) (*asynq.Task, string, []asynq.Option, error) {
		m := pending[i]
		t, opts, err := tasks.NewInterpretTask(m.ClinicID, m.ID, m.From)
		return t, "inbound message " + m.ID, append(opts, asynq.Queue(p.cfg.Queue), asynq.MaxRetry(p.cfg.MaxRetry)), err
	})
	var ids []string
	n := 0
	for i, m := range pending {
		if handed[i] {
			ids = append(ids, m.ID)
		}
		if fresh[i] {
			n++
		}
	}
	if err := p.store.InboundSMSMarkQueued(ctx, ids, p.clock.Now()); err != nil {
		return n, fmt.Errorf("mark inbound messages queued: %w", err)
	}
	return n, gerr
}

// SendEnqueuer is what EnqueueSend records with: beckon.Store implements it.
type SendEnqueuer interface {
	SendMarkEnqueued(ctx context.Context, ids []string, at time.Time) error
}

// EnqueueSend hands a send just planned and committed (an answer to a
// reply, a staff message) to asynq at once, as the pump would, and records
// that it did: the send goes without waiting for the pump's next pass. A
// send asynq holds already is not an error; any failure is harmless, since
// the pump hands over every planned send that is due.
func EnqueueSend(ctx context.Context, client *asynq.Client, st SendEnqueuer, sd beckon.Send, queue string, maxRetry int, now time.Time) error {
	if client == nil {
		return fmt.Errorf("enqueue send %s: no task queue", sd.ID)
	}
	task, err := tasks.NewDeliverTask(sd.ClinicID, sd.ID)
	if err != nil {
		return err
	}
	_, err = client.EnqueueContext(ctx, task, tasks.DeliverOptions(sd.ID, sd.DueAt, cmp.Or(queue, tasks.DefaultQueue), cmp.Or(maxRetry, 10))...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue send %s: %w", sd.ID, err)
	}
	return st.SendMarkEnqueued(ctx, []string{sd.ID}, now)
}
