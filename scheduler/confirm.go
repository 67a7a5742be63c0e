package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

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

// ConfirmManyIn is ConfirmIn of several answers of the clinic, decided
// together through the one path (an appointment answered twice is answered
// in the order given), under the first answer's actor. It returns one
// result per answer, in order; an error about any of them fails them all.
func (s *Service) ConfirmManyIn(ctx context.Context, q beckon.Querier, clinicID string, cs []beckon.Confirmation) ([]ConfirmResult, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	changes := make([]Change, len(cs))
	for i, c := range cs {
		c.ID = cmp.Or(c.ID, beckon.NewID("cnf_"))
		c.ClinicID = clinicID
		changes[i] = Change{Confirm: &ConfirmChange{Confirmation: c, WritebackID: "wbk_" + strings.TrimPrefix(c.ID, "cnf_")}}
	}
	out, err := s.apply(ctx, q, clinicID, changes, cs[0].Actor, 0)
	if item, ok := errors.AsType[*ItemError](err); ok {
		return nil, item.Err
	}
	if err != nil {
		return nil, err
	}
	res := make([]ConfirmResult, len(out))
	for i, o := range out {
		if o.Confirmed == nil {
			return nil, errors.New("scheduler: a confirmation without its outcome")
		}
		res[i] = *o.Confirmed
	}
	return res, nil
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

// confirmationEventTypes are the event types of the patients' answers.
var confirmationEventTypes = map[string]string{
	beckon.ResponseConfirmed:           beckon.EventAppointmentConfirmed,
	beckon.ResponseCancelRequested:     beckon.EventAppointmentCancelRequested,
	beckon.ResponseRescheduleRequested: beckon.EventAppointmentRescheduleRequested,
}

// confirmationEvents are the events of the confirmations among outcomes
// (one per confirmation, whose id it derives from): ids, the answer, how it
// came and the appointment's time; never the free-text note.
func confirmationEvents(clinicID string, outcomes []Outcome) []beckon.Event {
	var evs []beckon.Event
	for _, o := range outcomes {
		if o.Confirmed == nil {
			continue
		}
		c, a := o.Confirmed.Confirmation, o.Confirmed.Appointment
		typ, ok := confirmationEventTypes[c.Response]
		if !ok {
			continue
		}
		data, _ := json.Marshal(map[string]any{
			"appointment_id":      a.ID,
			"patient_id":          a.PatientID,
			"confirmation_id":     c.ID,
			"response":            c.Response,
			"method":              c.Method,
			"appointment_start":   a.Start.UTC().Format(time.RFC3339),
			"appointment_version": a.Version,
			"at":                  c.At.UTC().Format(time.RFC3339Nano),
		})
		evs = append(evs, beckon.Event{
			ID: beckon.EventID(clinicID, "confirmation", c.ID), ClinicID: clinicID, Type: typ, Data: data, At: c.At,
		})
	}
	return evs
}
