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
// the callers will take; ARGV[4]: how many slots are asked for, one after
// another, as that many callers arriving at once would take them. The key
// holds the theoretical arrival time (TAT) in microseconds of Redis time.
// A wait within the bound reserves its slot; the first longer one is
// returned and nothing more is reserved (the slots stay with callers that
// go now). Returns {now, taken, wait 1, …, wait taken[, the refused wait]}.
// One round trip does what a peek and a reservation did, for a whole burst
// of sends, and no other caller can take a slot in between. Reserve passes
// an unreachable bound, Peek a negative one.
var script = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local out = {string.format('%.0f', now), '0'}
local taken = 0
for i = 1, n do
  local wait = tat - (burst - 1) * interval - now
  if wait < 0 then wait = 0 end
  out[#out + 1] = string.format('%.0f', wait)
  if wait > max then break end
  tat = tat + interval
  taken = taken + 1
end
out[2] = tostring(taken)
if taken > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return out
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

// within runs the script for one slot with the bound max (in whole
// microseconds; a negative bound reserves nothing) and returns the Redis
// time of the call, the wait, and whether the slot was taken.
func (l *Limiter) within(ctx context.Context, key string, perSecond float64, burst int, max time.Duration) (time.Time, time.Duration, bool, error) {
	now, waits, taken, err := l.many(ctx, key, perSecond, burst, max, 1)
	if err != nil {
		return time.Time{}, 0, false, err
	}
	return now, waits[0], taken == 1, nil
}

// many runs the script for n slots and returns the Redis time of the
// call, the waits of the slots taken (taken of them) and, when fewer than n
// were taken, the refused wait after them.
func (l *Limiter) many(ctx context.Context, key string, perSecond float64, burst int, max time.Duration, n int) (time.Time, []time.Duration, int, error) {
	if perSecond <= 0 || burst < 1 || n < 1 {
		return time.Time{}, nil, 0, errors.New("pacing: perSecond must be > 0, burst >= 1 and n >= 1")
	}
	interval := int64(1e6 / perSecond)
	bound := max.Microseconds()
	if max < 0 {
		bound = -1
	}
	res, err := script.Run(ctx, l.rdb, []string{l.prefix + key}, interval, burst, bound, n).StringSlice()
	if err != nil {
		return time.Time{}, nil, 0, fmt.Errorf("pacing: %w", err)
	}
	if len(res) < 3 {
		return time.Time{}, nil, 0, errors.New("pacing: unexpected script reply")
	}
	now, err1 := strconv.ParseInt(res[0], 10, 64)
	taken, err2 := strconv.Atoi(res[1])
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, nil, 0, fmt.Errorf("pacing: %w", err)
	}
	waits := make([]time.Duration, 0, len(res)-2)
	for _, w := range res[2:] {
		us, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			return time.Time{}, nil, 0, fmt.Errorf("pacing: %w", err)
		}
		waits = append(waits, time.Duration(us)*time.Microsecond)
	}
	if taken > n || len(waits) != min(taken+1, n) {
		return time.Time{}, nil, 0, errors.New("pacing: unexpected script reply")
	}
	return time.UnixMicro(now), waits, taken, nil
}
