package scheduler

import (
	"context"
	"errors"

	"github.com/beckonhealth/beckon/store"
)

// ConfirmResult is an appointment after a confirmation, with the write-backs
// to the EHR it calls for (to enqueue once the transaction committed).
type ConfirmResult struct {
	Appointment  store.Appointment
	Confirmation store.Confirmation
	Writebacks   []store.Writeback
}

// Confirm records a patient's answer about an appointment (confirmed, or a
// request to cancel or reschedule) with its provenance, sets the
// appointment's confirmation (only_if_unconfirmed steps stop), and, when the
// clinic writes back to its EHR, records a pending write-back; all in one
// transaction.
func (s *Service) Confirm(ctx context.Context, c store.Confirmation) (ConfirmResult, error) {
	var res ConfirmResult
	err := s.retryConflicts(ctx, func(q store.Querier) error {
		res = ConfirmResult{}
		pc, err := s.planContext(ctx, q, c.ClinicID)
		if err != nil {
			return err
		}
		a, err := q.AppointmentGet(ctx, c.ClinicID, c.AppointmentID)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		a.Confirmation = c.Response
		saved, _, err := s.upsertAppointment(ctx, q, pc, a, c.Actor)
		if err != nil {
			return err
		}
		c.ID = store.NewID("cnf_")
		c.AppointmentVersion = saved.Version
		c.At = now
		if err := q.ConfirmationInsert(ctx, c); err != nil {
			return err
		}
		res.Appointment, res.Confirmation = saved, c
		fs, err := q.FeedSettingsGet(ctx, c.ClinicID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !fs.Writeback) {
			return nil
		}
		if err != nil {
			return err
		}
		kind := ""
		switch {
		case fs.FHIRBaseURL != "":
			kind = store.WritebackFHIR
		case fs.WebhookURL != "":
			kind = store.WritebackWebhook
		default:
			return nil
		}
		w := store.Writeback{
			ID:             store.NewID("wbk_"),
			ClinicID:       c.ClinicID,
			AppointmentID:  c.AppointmentID,
			ConfirmationID: c.ID,
			Kind:           kind,
			Status:         store.WritebackPending,
			CreatedAt:      now,
			UpdatedAt:      now,
		}
		if err := q.WritebackInsert(ctx, w); err != nil {
			return err
		}
		res.Writebacks = append(res.Writebacks, w)
		return nil
	})
	return res, err
}
