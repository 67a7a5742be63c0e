package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// keyPrefix is put before every bucket's key (redis_rate adds "rate:").
const keyPrefix = "beckon:"

// callTimeout bounds one Redis call: a slow Redis must not hold requests.
const callTimeout = 500 * time.Millisecond

// logEvery is how often a Redis failure is logged at most.
const logEvery = 10 * time.Second

// Limiter checks buckets in Redis; safe for concurrent use.
type Limiter struct {
	rl      *redis_rate.Limiter
	logger  *slog.Logger
	lastLog atomic.Int64 // unix nanoseconds of the last failure logged
	// downUntil (unix nanoseconds): after a failure, Redis is not asked
	// again for pauseAfterFailure, so a Redis that is down costs requests
	// no time.
	downUntil atomic.Int64
}

// pauseAfterFailure is how long the limiter fails open without asking
// Redis after Redis failed.
const pauseAfterFailure = time.Second

// New returns a limiter on rdb.
func New(rdb redis.UniversalClient, logger *slog.Logger) *Limiter {
	if logger == nil {
		logger = slog.Default()
	}
	return &Limiter{rl: redis_rate.NewLimiter(rdb), logger: logger.With(slog.String("component", "ratelimit"))}
}

// Decision is what a bucket said.
type Decision struct {
	// Allowed is false when the request must be refused (429).
	Allowed bool
	// Checked is false when no limit applied: the limit is off, or Redis
	// failed and the limiter failed open.
	Checked bool
	// Limit is the bucket's size, Remaining what is left of it now.
	Limit, Remaining int
	// RetryAfter is how long until one more request is allowed (when refused).
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// Allow takes one request from the bucket key.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) Decision {
	return l.take(ctx, key, lim, 1)
}

// Exhausted reports, taking nothing, whether the bucket key has no request
// left: a bucket that counts failures (Allow on each), read before the
// request is served.
func (l *Limiter) Exhausted(ctx context.Context, key string, lim Limit) Decision {
	d := l.take(ctx, key, lim, 0)
	if !d.Checked {
		return d
	}
	// With nothing taken the script allows; the bucket is exhausted when
	// less than one request is left. One request frees up every
	// Period/N, counted from when the bucket would be full.
	d.Allowed = d.Remaining >= 1
	if !d.Allowed {
		interval := lim.Period / time.Duration(lim.N)
		d.RetryAfter = max(d.Reset-time.Duration(lim.N-1)*interval, time.Millisecond)
	}
	return d
}

func (l *Limiter) take(ctx context.Context, key string, lim Limit, n int) Decision {
	if l == nil || lim.Off() || time.Now().UnixNano() < l.downUntil.Load() {
		return Decision{Allowed: true}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := l.rl.AllowN(ctx, keyPrefix+key, redis_rate.Limit{Rate: lim.N, Burst: lim.N, Period: lim.Period}, n)
	if err != nil {
		l.downUntil.Store(time.Now().Add(pauseAfterFailure).UnixNano())
		l.failedOpen(err)
		return Decision{Allowed: true}
	}
	return Decision{
		Allowed:    res.RetryAfter < 0, // -1 unless refused
		Checked:    true,
		Limit:      lim.N,
		Remaining:  max(res.Remaining, 0),
		RetryAfter: max(res.RetryAfter, 0),
		Reset:      max(res.ResetAfter, 0),
	}
}

// failedOpen logs a Redis failure, at most once every logEvery.
func (l *Limiter) failedOpen(err error) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(logEvery) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.logger.Warn("rate limits not checked: Redis did not answer; requests go through unlimited", slog.String("error", err.Error()))
}

// SetHeaders writes the RateLimit header fields of the IETF draft
// (RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset in seconds) and, on
// a refusal, Retry-After in whole seconds (at least 1). A decision that was
// not checked writes nothing.
func (d Decision) SetHeaders(h http.Header) {
	if !d.Checked {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(seconds(d.Reset)))
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(seconds(d.RetryAfter), 1)))
	}
}

// seconds is d rounded up to whole seconds.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
