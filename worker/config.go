// Package worker holds Beckon's asynq handlers: delivering a planned send
// (and, later, interpreting replies and applying delivery statuses).
package worker

import (
	"cmp"
	"math"
	"time"
)

// Config configures the delivery handler. Zero fields take the defaults shown.
type Config struct {
	// ClaimTimeout is how long a claim is honoured before another attempt may
	// resolve it. It must exceed the slowest provider call. Default 2m.
	ClaimTimeout time.Duration
	// SendTimeout bounds one provider call. Default 30s.
	SendTimeout time.Duration
}

func (c Config) withDefaults() Config {
	c.ClaimTimeout = cmp.Or(c.ClaimTimeout, 2*time.Minute)
	c.SendTimeout = cmp.Or(c.SendTimeout, 30*time.Second)
	return c
}

// RetryDelay is the backoff between attempts of a task: 2^n seconds, at most 10 minutes.
func RetryDelay(n int) time.Duration {
	d := time.Duration(math.Pow(2, float64(min(n, 10)))) * time.Second
	return min(d, 10*time.Minute)
}
