package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/pacing"
)

// FallbackSuffix ends the id of a fallback send: the original send's id plus
// this suffix, so a send has at most one fallback (SendInsert keeps an
// existing id as it is).
const FallbackSuffix = "~fallback"

// otherChannel is the channel a fallback goes to.
func otherChannel(kind beckon.Channel) beckon.Channel {
	if kind == beckon.ChannelSMS {
		return beckon.ChannelEmail
	}
	return beckon.ChannelSMS
}

// fallbackSend returns the fallback of sd on the channel other than used, or
// ok=false when the step does not ask for one or sd is itself a fallback.
// A fallback is a separate send: it is re-checked, claimed and recorded like
// any other, and never falls back again.
func fallbackSend(sd beckon.Send, step *beckon.Step, used beckon.Channel, now time.Time) (beckon.Send, bool) {
	if step == nil || !step.Fallback || sd.Channel != step.Channel || used == "" {
		return beckon.Send{}, false
	}
	fb := sd
	fb.ID = sd.ID + FallbackSuffix
	fb.Channel = otherChannel(used)
	fb.DueAt = now
	fb.Status = beckon.SendPlanned
	fb.Attempts = 0
	fb.ClaimToken = ""
	fb.ClaimedAt, fb.EnqueuedAt, fb.SentAt = time.Time{}, time.Time{}, time.Time{}
	fb.MessageID = ""
	fb.CreatedAt, fb.UpdatedAt = now, now
	return fb, true
}

// refused ends a send the provider refused for good: it records an opt-out the
// provider reported, ends the send with the reason and, when the step asks
// for it, plans the fallback on the other channel, all in one transaction.
func (a *attempt) refused(ctx context.Context, ce *channels.Error) error {
	return a.endWithFallback(ctx, beckon.SendFailed, ce.Reason, ce.OptOut)
}

// checkAddress ends the send when the provider reported the address
// undeliverable before; done reports that the send is settled.
func (a *attempt) checkAddress(ctx context.Context) (done bool, err error) {
	var u beckon.UndeliverableAddress
	if a.pre != nil && a.pre.loaded {
		var found bool
		u, found = a.pre.undeliverable[a.kind][a.to]
		if !found {
			err = beckon.ErrNotFound
		}
	} else {
		u, err = a.d.store.AddressUndeliverableGet(ctx, a.send.ClinicID, a.kind, a.to)
	}
	if errors.Is(err, beckon.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, a.release(ctx, fmt.Errorf("check address: %w", err))
	}
	return true, a.endWithFallback(ctx, beckon.SendSkipped, string(a.kind)+" address undeliverable ("+u.Reason+")", false)
}

func (a *attempt) endWithFallback(ctx context.Context, status beckon.SendStatus, reason string, optOut bool) error {
	now := a.d.clock.Now()
	fb, hasFallback := fallbackSend(a.send, a.step, a.kind, now)
	if hasFallback {
		reason += "; falling back to " + string(fb.Channel)
	}
	err := a.d.store.InTx(ctx, func(q beckon.Querier) error {
		if optOut && a.kind == beckon.ChannelSMS {
			if err := optOutSMS(ctx, q, a.send, a.to, reason, now); err != nil {
				return err
			}
		}
		if err := q.SendFinish(ctx, beckon.SendFinishParams{
			ID: a.send.ID, Token: a.token, Status: status, Reason: reason, Now: now,
		}); err != nil {
			return err
		}
		if hasFallback {
			return q.SendInsert(ctx, []beckon.Send{fb})
		}
		return nil
	})
	if errors.Is(err, beckon.ErrConflict) {
		a.log.Warn("claim lost before finishing", slog.String("status", string(status)))
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish send: %w", err)
	}
	a.d.cfg.Metrics.SendEnded(string(a.kind), string(status))
	a.log.Info("send ended", slog.String("status", string(status)), slog.String("reason", reason),
		slog.Bool("fallback", hasFallback), slog.Bool("opt_out", optOut))
	return nil
}

// optOutSMS records in the consent ledger that the provider reported the
// number unsubscribed (Twilio 21610); the entry's id is the send's, so a
// retried transaction records it once.
func optOutSMS(ctx context.Context, q beckon.Querier, sd beckon.Send, to, reason string, now time.Time) error {
	applied, err := q.ConsentRecord(ctx, beckon.ConsentChange{
		ID: "cns_" + sd.ID, ClinicID: sd.ClinicID, PatientID: sd.PatientID, Phone: to,
		Channel: beckon.ChannelSMS, State: beckon.ConsentOptedOut, How: beckon.ConsentProviderError,
		Text: reason, At: now,
	})
	if err != nil || !applied {
		return err
	}
	return q.AuditAppend(ctx, beckon.AuditEntry{
		ClinicID: sd.ClinicID, Actor: "system", Action: "patient.sms_opted_out",
		Entity: "patient", EntityID: sd.PatientID, Detail: fmt.Sprintf("{\"reason\":%q}", reason), At: now,
	})
}

// pace waits for the sender's next slot; done reports that the send was
// handed back (a long wait) or ended (it would reach the patient after the
// appointment began). With a BoundedLimiter or a Peeker, a long wait takes
// no slot: the send comes back when the backlog has cleared, and the slots
// stay with the sends that go now.
func (a *attempt) pace(ctx context.Context, ch channels.Channel, appt beckon.Appointment) (done bool, err error) {
	p, ok := ch.(channels.Paced)
	if !ok || a.d.cfg.Limiter == nil {
		return false, nil
	}
	key, rate := p.Pace()
	if rate <= 0 {
		return false, nil
	}
	wait, taken, err := a.reserve(ctx, key, rate)
	if err != nil {
		return true, a.release(ctx, err)
	}
	if !taken {
		return true, a.backlog(ctx, key, wait, appt)
	}
	a.d.cfg.Metrics.PaceWait(wait)
	if wait <= 0 {
		return false, nil
	}
	if a.send.BeforeStart && !a.d.clock.Now().Add(wait).Before(appt.Start) {
		return true, a.backlog(ctx, key, wait, appt)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return true, a.release(ctx, ctx.Err())
	}
}

// reserve takes the sender's next slot if it is at most MaxPaceWait away:
// in a batch with the sends pacing at the same moment with a BatchLimiter,
// else one call with a BoundedLimiter, else a peek (with a Peeker) and a
// reservation. taken=false: the wait is too long (and, but for a plain
// Limiter, no slot is held).
func (a *attempt) reserve(ctx context.Context, key string, rate float64) (wait time.Duration, taken bool, err error) {
	max := a.d.cfg.MaxPaceWait
	if a.d.paces != nil {
		g, err := a.d.paces.Do(ctx, pacing.Ask{Key: key, PerSecond: rate, Burst: 1, Max: max})
		return g.Wait, g.OK, err
	}
	if bl, ok := a.d.cfg.Limiter.(BoundedLimiter); ok {
		return bl.ReserveWithin(ctx, key, rate, 1, max)
	}
	if pk, ok := a.d.cfg.Limiter.(Peeker); ok {
		if wait, err := pk.Peek(ctx, key, rate, 1); err != nil || wait > max {
			return wait, false, err
		}
	}
	wait, err = a.d.cfg.Limiter.Reserve(ctx, key, rate, 1)
	return wait, err == nil && wait <= max, err
}

// backlog hands the send back until its sender has a slot, or ends it when
// that is after the appointment began (and reports it).
func (a *attempt) backlog(ctx context.Context, key string, wait time.Duration, appt beckon.Appointment) error {
	now := a.d.clock.Now()
	if a.send.BeforeStart && !now.Add(wait).Before(appt.Start) {
		a.log.Warn("sender backlog: reminder would go out after the appointment began",
			slog.String("sender", key), slog.Duration("wait", wait))
		return a.finish(ctx, beckon.SendSkipped, fmt.Sprintf("sender backlog: the next slot (in %s) is after the appointment start", wait.Round(time.Second)), "")
	}
	return a.snooze(ctx, now.Add(wait), "paced: sender busy")
}
