package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/tasks"
)

// callStart is one call's share of a start batch: when the batch recorded
// it as starting, or beckon.ErrConflict when the claim was lost and the
// message must not go.
type callStart struct {
	at   time.Time
	lost error
}

// startBatch records the calls about to start at the same moment, each only
// while its claim holds.
func (d *Deliverer) startBatch(ctx context.Context, calls []beckon.SendCall) ([]callStart, error) {
	// Recorded to the millisecond: the start a worker taking a claim over
	// reads back.
	now := d.clock.Now().Truncate(time.Millisecond)
	lost, err := d.store.SendCallStartMany(ctx, calls, now)
	if err != nil {
		return nil, err
	}
	out := make([]callStart, len(calls))
	for i, c := range calls {
		out[i].at = now
		if slices.Contains(lost, c.SendID) {
			out[i].lost = beckon.ErrConflict
		}
	}
	return out, nil
}

// startCall records, durably and under the claim, that the call handing m
// to the provider starts now, and returns that start. Before it, a crash
// leaves a claim that never reached the provider, and the send is simply
// sent by whoever takes it over; after it, the call may have reached the
// provider, and it is settled by the provider's word. done reports that the
// message must not go.
func (a *attempt) startCall(ctx context.Context, m channels.Message) (at time.Time, done bool, err error) {
	res, err := a.d.starts.Do(ctx, beckon.SendCall{
		SendID: a.send.ID, ClinicID: a.send.ClinicID, ClaimToken: a.token,
		Channel: m.Channel, To: m.To, Subject: m.Subject, Body: m.Text, HTML: m.HTML,
	})
	if err != nil {
		return time.Time{}, true, a.release(ctx, fmt.Errorf("record the call: %w", err))
	}
	if res.lost != nil {
		a.log.Warn("claim lost before the provider call; not sending")
		return time.Time{}, true, nil
	}
	return res.at, false, nil
}

// landGrace is how long past an abandoned call's deadline its provider is
// first asked: a request written just before the deadline reaches the
// provider, and is acted on, a little after it.
const landGrace = time.Second

// eventRecheck is how often a call cut off is looked at again while its
// provider's events are waited for.
const eventRecheck = time.Minute

// messageOf is the message a recorded call handed to the provider.
func messageOf(c beckon.SendCall) channels.Message {
	return channels.Message{
		SendID: c.SendID, ClinicID: c.ClinicID, Channel: c.Channel,
		To: c.To, Subject: c.Subject, Text: c.Body, HTML: c.HTML,
	}
}

// settleAbandoned settles a claim taken over from a worker that stopped (or
// a send ended unknown that a provider has since reported), before anything
// else is decided: whatever the provider has is recorded as sent, never
// skipped. done reports that this attempt goes no further; otherwise the
// provider does not have the message and the send goes on as a new one.
//
// The provider's word, in order: a sighting (a status or event naming the
// send, which arrived before the message was recorded); then, when a call
// was started under the abandoned claim, the provider itself (Twilio is
// asked) or its events (SendGrid: waited for, then the clinic's choice).
// A claim under which no call started never reached the provider.
func (a *attempt) settleAbandoned(ctx context.Context) (done bool, err error) {
	sd := a.send
	call, called, err := a.d.store.SendCallTakeOver(ctx, sd.ClinicID, sd.ID, a.prevToken, a.token)
	if err != nil {
		// Keep the claim: it goes stale again and is settled then.
		return true, fmt.Errorf("read the abandoned call: %w", err)
	}
	seen, err := a.d.store.SendSightingGet(ctx, sd.ClinicID, sd.ID)
	switch {
	case err == nil:
		if !called {
			call, err = a.d.store.SendCallGet(ctx, sd.ClinicID, sd.ID)
			if errors.Is(err, beckon.ErrNotFound) {
				// Ended unknown before calls were recorded: what was sent
				// is not known, only that the provider has it.
				call = beckon.SendCall{SendID: sd.ID, ClinicID: sd.ClinicID, Channel: channelOfProvider(seen.Provider)}
			} else if err != nil {
				return true, fmt.Errorf("read the reported call: %w", err)
			}
		}
		a.log.Info("the provider reported the abandoned send; recording it", slog.String("provider", seen.Provider))
		return true, a.record(ctx, messageOf(call), channels.Receipt{
			Provider: seen.Provider, ProviderID: seen.ProviderID, Status: beckon.MessageQueued,
		})
	case !errors.Is(err, beckon.ErrNotFound):
		return true, fmt.Errorf("read sighting: %w", err)
	}
	if !called {
		a.log.Info("abandoned claim never reached the provider; sending")
		return false, nil
	}
	// A call cut off mid-flight may still land: ask once it cannot anymore.
	if wait := call.StartedAt.Add(a.d.cfg.SendTimeout + landGrace).Sub(a.d.clock.Now()); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return true, ctx.Err()
		}
	}
	ch, err := a.d.channels.Channel(ctx, sd.ClinicID, call.Channel)
	if err != nil {
		return true, fmt.Errorf("channel of the abandoned call: %w", err)
	}
	m := messageOf(call)
	if looker, ok := ch.(channels.Looker); ok {
		r, found, err := looker.Lookup(ctx, m)
		if err != nil {
			a.log.Warn("provider lookup failed; the claim stays until it can be asked",
				slog.String("kind", channels.KindOf(err)), slog.String("code", codeOf(err)), slog.String("reason", reasonOf(err)))
			return true, fmt.Errorf("look up abandoned send: %w", err)
		}
		if found {
			a.log.Info("abandoned call had reached the provider; recording it")
			return true, a.record(ctx, m, r)
		}
		a.log.Info("abandoned call had not reached the provider; sending")
		return false, nil
	}
	if rep, ok := ch.(channels.Reporter); ok {
		if w := rep.EventWait(); w > 0 && a.d.clock.Now().Before(call.StartedAt.Add(w)) {
			// Leave the claim until the next look: an event that comes
			// meanwhile is kept (a sighting) and settles it then.
			now := a.d.clock.Now()
			next := call.StartedAt.Add(w)
			if t := now.Add(eventRecheck); t.Before(next) {
				next = t
			}
			a.unhold()
			err := a.d.store.SendClaimRenew(ctx, []beckon.ClaimRef{{ID: sd.ID, Token: a.token}}, next.Add(-a.d.cfg.ClaimTimeout))
			if err != nil {
				return true, fmt.Errorf("leave the claim until the provider's events: %w", err)
			}
			a.log.Info("abandoned call: waiting for the provider's events",
				slog.Time("next_look", next), slog.Time("until", call.StartedAt.Add(w)))
			return true, nil
		}
		if rep.ResendUnsure() {
			a.log.Warn("abandoned call: no word from the provider; sending again, as the clinic chose (the patient may get it twice)")
			return false, nil
		}
		return true, a.finish(ctx, beckon.SendUnknown, "a worker stopped during the provider call, the provider did not report it, and the clinic chose not to resend", "")
	}
	return true, a.finish(ctx, beckon.SendUnknown, "a worker stopped during the provider call and the provider cannot be asked", "")
}

// channelOfProvider is the channel a provider delivers.
func channelOfProvider(provider string) beckon.Channel {
	if provider == tasks.ProviderSendGrid {
		return beckon.ChannelEmail
	}
	return beckon.ChannelSMS
}
