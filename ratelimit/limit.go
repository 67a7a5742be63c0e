// Package ratelimit shares request limits between every process of an
// installation: a GCRA limiter in Redis (go-redis/redis_rate), one bucket
// per key (an API key and route class, a client address), answered as the
// IETF RateLimit header fields. When Redis cannot answer, the limiter fails
// open: the request goes on and the failure is logged, never turned into an
// error for the client.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is N requests per Period, in bursts of up to N. The zero Limit is
// no limit.
type Limit struct {
	N      int
	Period time.Duration
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.N <= 0 || l.Period <= 0 }

// String is l as ParseLimit reads it.
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	for unit, d := range units {
		if l.Period == d {
			return strconv.Itoa(l.N) + "/" + unit
		}
	}
	return strconv.Itoa(l.N) + "/" + l.Period.String()
}

var units = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// ParseLimit reads "N/s", "N/m", "N/h" or "N/<Go duration>" (N requests per
// that period, bursts of up to N), or "off" (no limit).
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Limit{}, nil
	}
	num, per, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("rate limit %q: write N/s, N/m, N/h or off", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return Limit{}, fmt.Errorf("rate limit %q: the count must be a whole number above 0", s)
	}
	d, ok := units[per]
	if !ok {
		d, err = time.ParseDuration(per)
		if err != nil || d < time.Millisecond {
			return Limit{}, errors.New("rate limit " + strconv.Quote(s) + ": the period must be s, m, h or a duration of at least 1ms")
		}
	}
	return Limit{N: n, Period: d}, nil
}
