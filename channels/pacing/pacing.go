// Package pacing spaces sends per sender (a Twilio number, a SendGrid key)
// across every worker: one GCRA token bucket per key, kept in Redis and
// updated by a small Lua script, so that all workers share one rate.
//
// The script reads the time from Redis (TIME), not from the workers, so
// workers with skewed clocks still agree. A reservation takes a slot: the
// caller must wait the returned duration before it sends, and a reservation
// it gives up is not returned (the bucket errs on the slow side). A caller
// that will not wait past a bound asks ReserveWithin, which takes the slot
// only within the bound, in the same round trip. Needs
// Redis 5 or later (TIME before a write in a script: effects replication).
package pacing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// script is GCRA. KEYS[1]: the bucket; ARGV[1]: emission interval in
// microseconds; ARGV[2]: burst; ARGV[3]: the longest wait in microseconds
// the caller will take. The key holds the theoretical arrival time (TAT) in
// microseconds of Redis time. A wait within the bound reserves the slot; a
// longer one is returned and nothing is reserved (the slot stays with
// callers that go now). Returns {now, wait, reserved (1 or 0)}. One round
// trip does what a peek and a reservation did, and no other caller can take
// the slot in between. Reserve passes an unreachable bound, Peek a negative
// one.
var script = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
if wait > max then
  return {string.format('%.0f', now), string.format('%.0f', wait), '0'}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {string.format('%.0f', now), string.format('%.0f', wait), '1'}
`)

// Limiter paces sends through Redis. It is safe for concurrent use.
type Limiter struct {
	rdb    redis.Scripter
	prefix string
}

// New returns a Limiter whose keys start with prefix (default "beckon:pace:").
func New(rdb redis.Scripter, prefix string) *Limiter {
	if prefix == "" {
		prefix = "beckon:pace:"
	}
	return &Limiter{rdb: rdb, prefix: prefix}
}

// unbounded is a bound no wait reaches (292 years).
const unbounded = time.Duration(math.MaxInt64)

// Reserve takes the next slot of key's bucket (perSecond sends a second, up
// to burst at once) and returns how long to wait before sending.
func (l *Limiter) Reserve(ctx context.Context, key string, perSecond float64, burst int) (time.Duration, error) {
	_, wait, err := l.reserve(ctx, key, perSecond, burst)
	return wait, err
}

// Peek returns how long a reservation made now would wait, without taking a
// slot: a caller that will not wait that long (and sends later instead)
// leaves the slot to others.
func (l *Limiter) Peek(ctx context.Context, key string, perSecond float64, burst int) (time.Duration, error) {
	_, wait, _, err := l.within(ctx, key, perSecond, burst, -1)
	return wait, err
}

// ReserveWithin takes the next slot of key's bucket only if it comes within
// max, in one round trip: ok reports that it was taken. Either way wait is
// how long the next slot is away; a wait over max reserves nothing.
func (l *Limiter) ReserveWithin(ctx context.Context, key string, perSecond float64, burst int, max time.Duration) (wait time.Duration, ok bool, err error) {
	_, wait, ok, err = l.within(ctx, key, perSecond, burst, max)
	return wait, ok, err
}

// Wait reserves a slot and sleeps until it comes, or ctx ends.
func (l *Limiter) Wait(ctx context.Context, key string, perSecond float64, burst int) error {
	wait, err := l.Reserve(ctx, key, perSecond, burst)
	if err != nil || wait <= 0 {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reserve also returns the Redis time of the reservation (for tests).
func (l *Limiter) reserve(ctx context.Context, key string, perSecond float64, burst int) (time.Time, time.Duration, error) {
	now, wait, _, err := l.within(ctx, key, perSecond, burst, unbounded)
	return now, wait, err
}

// within runs the script with the bound max (in whole microseconds; a
// negative bound reserves nothing) and returns the Redis time of the call,
// the wait, and whether the slot was taken.
func (l *Limiter) within(ctx context.Context, key string, perSecond float64, burst int, max time.Duration) (time.Time, time.Duration, bool, error) {
	if perSecond <= 0 || burst < 1 {
		return time.Time{}, 0, false, errors.New("pacing: perSecond must be > 0 and burst >= 1")
	}
	interval := int64(1e6 / perSecond)
	bound := max.Microseconds()
	if max < 0 {
		bound = -1
	}
	res, err := script.Run(ctx, l.rdb, []string{l.prefix + key}, interval, burst, bound).StringSlice()
	if err != nil {
		return time.Time{}, 0, false, fmt.Errorf("pacing: %w", err)
	}
	if len(res) != 3 {
		return time.Time{}, 0, false, errors.New("pacing: unexpected script reply")
	}
	now, err1 := strconv.ParseInt(res[0], 10, 64)
	wait, err2 := strconv.ParseInt(res[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, 0, false, fmt.Errorf("pacing: %w", err)
	}
	return time.UnixMicro(now), time.Duration(wait) * time.Microsecond, res[2] == "1", nil
}
