package scheduler

import (
	"context"

	"github.com/beckonhealth/beckon"
)

// replanChunk is how many appointments are re-planned per round of
// set-at-a-time statements.
const replanChunk = 1000

// replanUpcoming re-plans the clinic's upcoming appointments inside the
// caller's transaction after a campaign change (audit, written with the
// first round), so that the changed campaign and the sends it supersedes
// commit together. It decides and writes a thousand appointments at a
// time, so a campaign change at a clinic with 100,000 upcoming appointments
// is a few hundred statements, not a few hundred thousand.
func (s *Service) replanUpcoming(ctx context.Context, q beckon.Querier, clinicID string, audit beckon.AuditEntry) error {
	st, err := newState(ctx, q, clinicID)
	if err != nil {
		return err
	}
	as, err := q.AppointmentListUpcoming(ctx, beckon.AppointmentListParams{ClinicID: clinicID, After: s.Clock.Now()})
	if err != nil {
		return err
	}
	planned := 0
	for start := 0; start == 0 || start < len(as); start += replanChunk {
		part := as[start:min(start+replanChunk, len(as))]
		changes := make([]Change, len(part))
		for i := range part {
			changes[i] = Change{Replan: &part[i]}
		}
		d, err := s.decideRound(ctx, q, st, changes, audit.Actor)
		if err != nil {
			return err
		}
		if err := d.Err(start); err != nil {
			return err
		}
		w := d.Writes()
		if start == 0 {
			w.Audits = append(w.Audits, audit)
		}
		if err := write(ctx, q, w); err != nil {
			return err
		}
		planned += len(w.Sends)
	}
	s.logger().Debug("upcoming appointments re-planned",
		"clinic_id", clinicID,
		"appointments", len(as),
		"sends", planned)
	return nil
}
