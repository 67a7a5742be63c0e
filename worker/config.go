// Package worker holds Beckon's asynq handlers: delivering a planned send
// and applying the delivery statuses providers report.
package worker

import (
	"cmp"
	"context"
	"math"
	"time"

	"github.com/beckonhealth/beckon/channels/pacing"
)

// Config configures the delivery handler. Zero fields take the defaults shown.
type Config struct {
	// ClaimTimeout is how long a claim is honoured without being renewed
	// before another attempt may settle it. A delivery in flight renews its
	// claim four times per timeout, so this is how fast a stopped worker's
	// claims are found, not a bound on a provider call. Taking over a live
	// claim (a stalled worker) is safe: a call not started by then is not
	// made (its start is recorded under the claim), and one started is
	// settled by the provider's word. Default 5s.
	ClaimTimeout time.Duration
	// SendTimeout bounds one provider call, counted from its recorded start
	// (a call made late gets what is left; with under a quarter left it is
	// not made); an abandoned call is settled no earlier than this after its
	// recorded start (it cannot land later). Default 10s.
	SendTimeout time.Duration
	// Limiter paces sends through channels that implement channels.Paced,
	// across every worker (pacing.Limiter). Nil: no pacing.
	Limiter Limiter
	// MaxPaceWait is the longest a send waits in the worker for its sender's
	// next slot; a longer wait hands the send back with a later due time.
	// Default 10s.
	MaxPaceWait time.Duration
	// SnapshotTTL is how long a clinic, or a campaign at a send's revision, is
	// reused across sends before it is read again. Default 2s; negative: never.
	SnapshotTTL time.Duration
	// Links makes the signed links (confirm, cancel, unsubscribe) and the
	// List-Unsubscribe headers of emails. Nil: emails carry none.
	Links *EmailLinks
	// Metrics counts ended sends, lateness, provider calls and pacing
	// waits. Nil: nothing is counted.
	Metrics Metrics
}

// Limiter reserves sending slots of a sender; pacing.Limiter implements it.
type Limiter interface {
	// Reserve takes the next slot of key and returns how long to wait for it.
	Reserve(ctx context.Context, key string, perSecond float64, burst int) (time.Duration, error)
}

// BoundedLimiter is a Limiter that reserves a slot only within a bound, in
// one call (pacing.Limiter implements it): ok reports that the slot was
// taken; a wait over max takes nothing.
type BoundedLimiter interface {
	ReserveWithin(ctx context.Context, key string, perSecond float64, burst int, max time.Duration) (wait time.Duration, ok bool, err error)
}

// BatchLimiter is a Limiter that answers many sends' ReserveWithin in one
// call, a round trip per sender (pacing.Limiter implements it): a burst of
// sends due together is paced by a few script calls instead of one each.
type BatchLimiter interface {
	ReserveBatch(ctx context.Context, asks []pacing.Ask) ([]pacing.Grant, error)
}

// Peeker is a Limiter that can tell the wait without taking a slot;
// pacing.Limiter implements it.
type Peeker interface {
	Peek(ctx context.Context, key string, perSecond float64, burst int) (time.Duration, error)
}

func (c Config) withDefaults() Config {
	c.SnapshotTTL = cmp.Or(c.SnapshotTTL, 2*time.Second)
	c.ClaimTimeout = cmp.Or(c.ClaimTimeout, 5*time.Second)
	c.SendTimeout = cmp.Or(c.SendTimeout, 10*time.Second)
	c.MaxPaceWait = cmp.Or(c.MaxPaceWait, 10*time.Second)
	c.Metrics = metricsOr(c.Metrics)
	return c
}

// RetryDelay is the backoff between attempts of a task: 2^n seconds, at most 10 minutes.
func RetryDelay(n int) time.Duration {
	d := time.Duration(math.Pow(2, float64(min(n, 10)))) * time.Second
	return min(d, 10*time.Minute)
}
