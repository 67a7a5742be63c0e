package ratelimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon/ratelimit"
)

func newLimiter(t *testing.T) (*ratelimit.Limiter, *miniredis.Miniredis, *bytes.Buffer) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	var logs bytes.Buffer
	return ratelimit.New(rdb, slog.New(slog.NewTextHandler(&logs, nil))), mr, &logs
}

func TestAllowRefusesOverTheLimitPerKey(t *testing.T) {
	t.Parallel()
	l, _, _ := newLimiter(t)
	ctx := context.Background()
	lim := ratelimit.Limit{N: 3, Period: time.Hour}
	for i := range 3 {
		d := l.Allow(ctx, "key_a:api", lim)
		if !d.Allowed || !d.Checked || d.Limit != 3 || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, d, 2-i)
		}
	}
	d := l.Allow(ctx, "key_a:api", lim)
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("4th request: %+v, want refused", d)
	}
	// One request frees up every 20 minutes.
	if d.RetryAfter < 19*time.Minute || d.RetryAfter > 20*time.Minute {
		t.Errorf("retry after %s, want about 20m", d.RetryAfter)
	}
	h := http.Header{}
	d.SetHeaders(h)
	if h.Get("Retry-After") != "1200" || h.Get("RateLimit-Limit") != "3" || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != "3600" {
		t.Errorf("headers %v", h)
	}
	if d := l.Allow(ctx, "key_b:api", lim); !d.Allowed {
		t.Errorf("another key was refused: %+v", d)
	}
}

func TestExhaustedTakesNothing(t *testing.T) {
	t.Parallel()
	l, _, _ := newLimiter(t)
	ctx := context.Background()
	lim := ratelimit.Limit{N: 2, Period: time.Minute}
	for range 5 {
		if d := l.Exhausted(ctx, "addr", lim); !d.Allowed {
			t.Fatalf("an untouched bucket is exhausted: %+v", d)
		}
	}
	l.Allow(ctx, "addr", lim)
	if d := l.Exhausted(ctx, "addr", lim); !d.Allowed {
		t.Fatalf("exhausted after 1 of 2: %+v", d)
	}
	l.Allow(ctx, "addr", lim)
	d := l.Exhausted(ctx, "addr", lim)
	if d.Allowed {
		t.Fatalf("not exhausted after 2 of 2: %+v", d)
	}
	if d.RetryAfter < 29*time.Second || d.RetryAfter > 30*time.Second {
		t.Errorf("retry after %s, want about 30s", d.RetryAfter)
	}
}

func TestOffLimitsNothing(t *testing.T) {
	t.Parallel()
	l, mr, _ := newLimiter(t)
	for range 3 {
		d := l.Allow(context.Background(), "k", ratelimit.Limit{})
		if !d.Allowed || d.Checked {
			t.Fatalf("off: %+v", d)
		}
	}
	if keys := mr.Keys(); len(keys) != 0 {
		t.Errorf("an off limit wrote %v", keys)
	}
	h := http.Header{}
	ratelimit.Decision{Allowed: true}.SetHeaders(h)
	if len(h) != 0 {
		t.Errorf("an unchecked decision wrote headers %v", h)
	}
}

func TestRedisDownFailsOpenAndLogs(t *testing.T) {
	t.Parallel()
	l, mr, logs := newLimiter(t)
	mr.Close()
	lim := ratelimit.Limit{N: 1, Period: time.Hour}
	for range 3 {
		d := l.Allow(context.Background(), "k", lim)
		if !d.Allowed || d.Checked {
			t.Fatalf("Redis down: %+v, want allowed unchecked", d)
		}
		if d := l.Exhausted(context.Background(), "k", lim); !d.Allowed {
			t.Fatalf("Redis down: exhausted %+v", d)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "rate limits not checked"); n != 1 || !strings.Contains(out, "level=WARN") {
		t.Errorf("want one warning for the failures, got %d in %q", n, out)
	}
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want ratelimit.Limit
		err  bool
	}{
		{in: "100/s", want: ratelimit.Limit{N: 100, Period: time.Second}},
		{in: "10/m", want: ratelimit.Limit{N: 10, Period: time.Minute}},
		{in: " 5/h ", want: ratelimit.Limit{N: 5, Period: time.Hour}},
		{in: "30/10s", want: ratelimit.Limit{N: 30, Period: 10 * time.Second}},
		{in: "off", want: ratelimit.Limit{}},
		{in: "100", err: true},
		{in: "0/s", err: true},
		{in: "-1/s", err: true},
		{in: "x/s", err: true},
		{in: "10/fortnight", err: true},
		{in: "10/0s", err: true},
	} {
		got, err := ratelimit.ParseLimit(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			back, err := ratelimit.ParseLimit(got.String())
			if err != nil || back != got {
				t.Errorf("ParseLimit(%q.String() = %q) = %+v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}
