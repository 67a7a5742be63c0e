// Package pacing spaces sends per sender (a Twilio number, a SendGrid key)
// across every worker: one GCRA token bucket per key, kept in Redis and
// updated by a small Lua script, so that all workers share one rate.
//
// The script reads the time from Redis (TIME), not from the workers, so
// workers with skewed clocks still agree. Each call reserves a slot: the
// caller must wait the returned duration before it sends, and a reservation
// it gives up is not returned (the bucket errs on the slow side). Needs
// Redis 5 or later (TIME before a write in a script: effects replication).
package pacing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// script is GCRA. KEYS[1]: the bucket; ARGV[1]: emission interval in
// microseconds; ARGV[2]: burst. The key holds the theoretical arrival time
// (TAT) in microseconds of Redis time. Returns {now, wait} in microseconds.
var script = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat - (burst - 1) * interval
local wait = allow_at - now
if wait < 0 then wait = 0 end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {string.format('%.0f', now), string.format('%.0f', wait)}
`)

// peekScript is script without the reservation: it returns {now, wait} of
// the next slot, and changes nothing.
var peekScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
return {string.format('%.0f', now), string.format('%.0f', wait)}
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
	_, wait, err := l.run(ctx, peekScript, key, perSecond, burst)
	return wait, err
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
	return l.run(ctx, script, key, perSecond, burst)
}

func (l *Limiter) run(ctx context.Context, script *redis.Script, key string, perSecond float64, burst int) (time.Time, time.Duration, error) {
	if perSecond <= 0 || burst < 1 {
		return time.Time{}, 0, errors.New("pacing: perSecond must be > 0 and burst >= 1")
	}
	interval := int64(1e6 / perSecond)
	res, err := script.Run(ctx, l.rdb, []string{l.prefix + key}, interval, burst).StringSlice()
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("pacing: %w", err)
	}
	if len(res) != 2 {
		return time.Time{}, 0, errors.New("pacing: unexpected script reply")
	}
	now, err1 := strconv.ParseInt(res[0], 10, 64)
	wait, err2 := strconv.ParseInt(res[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, 0, fmt.Errorf("pacing: %w", err)
	}
	return time.UnixMicro(now), time.Duration(wait) * time.Microsecond, nil
}
