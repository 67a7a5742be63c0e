package scheduler

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// ConfirmResult is an appointment after a confirmation, with the write-backs
// to the EHR it calls for (to enqueue once the transaction committed).
type ConfirmResult struct {
	Appointment  beckon.Appointment
	Confirmation beckon.Confirmation
	Writebacks   []beckon.Writeback
}

// Confirm records a patient's answer about an appointment (confirmed, or a
// request to cancel or reschedule) with its provenance, sets the
// appointment's confirmation (only_if_unconfirmed steps stop), and, when the
// clinic writes back to its EHR, records a pending write-back; all in one
// transaction.
func (s *Service) Confirm(ctx context.Context, c beckon.Confirmation) (ConfirmResult, error) {
	c.ID = beckon.NewID("cnf_")
	change := ConfirmChange{Confirmation: c, WritebackID: beckon.NewID("wbk_")}
	o, err := s.applyOne(ctx, c.ClinicID, Change{Confirm: &change}, c.Actor)
	if err != nil {
		return ConfirmResult{}, err
	}
	return *o.Confirmed, nil
}

// ConfirmIn is Confirm inside the caller's transaction q, so that the
// confirmation commits (or not) with the caller's other writes: a patient's
// reply records its answer, its effects and its interpretation at once. An
// empty c.ID gets a new one; the write-back's id is derived from it, so a
// caller with a deterministic c.ID records the same write-back on a retry.
// A version race with a concurrent change is beckon.ErrConflict: the
// caller runs its transaction again.
func (s *Service) ConfirmIn(ctx context.Context, q beckon.Querier, c beckon.Confirmation) (ConfirmResult, error) {
	c.ID = cmp.Or(c.ID, beckon.NewID("cnf_"))
	change := ConfirmChange{Confirmation: c, WritebackID: "wbk_" + strings.TrimPrefix(c.ID, "cnf_")}
	out, err := s.apply(ctx, q, c.ClinicID, []Change{{Confirm: &change}}, c.Actor, 0)
	if item, ok := errors.AsType[*ItemError](err); ok {
		return ConfirmResult{}, item.Err
	}
	if err != nil {
		return ConfirmResult{}, err
	}
	return *out[0].Confirmed, nil
}

// EnqueueWritebacks hands pending write-backs to asynq (a task that exists
// already is left as it is).
func EnqueueWritebacks(ctx context.Context, c *asynq.Client, queue string, ws []beckon.Writeback) error {
	_, err := enqueueWritebacks(ctx, c, queue, ws)
	return err
}

// enqueueWritebacks is EnqueueWritebacks, counting the tasks it created.
func enqueueWritebacks(ctx context.Context, c *asynq.Client, queue string, ws []beckon.Writeback) (int, error) {
	var errs []error
	n := 0
	for _, w := range ws {
		task, err := tasks.NewWritebackTask(w.ClinicID, w.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, err = c.EnqueueContext(ctx, task,
			asynq.TaskID(w.ID), asynq.Queue(cmp.Or(queue, tasks.DefaultQueue)), asynq.MaxRetry(12))
		switch {
		case err == nil:
			n++
		case !errors.Is(err, asynq.ErrTaskIDConflict):
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}
