package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// arrivals is when each message reached the Twilio stand-in, and for which
// send: a few dozen bytes a message.
type arrivals struct {
	mu   sync.Mutex
	at   []time.Time
	send []string
	wake chan struct{} // closed and replaced on every arrival
}

func newArrivals() *arrivals { return &arrivals{wake: make(chan struct{})} }

// add records a message that reached the stand-in at at, for sendID.
func (a *arrivals) add(at time.Time, sendID string) {
	a.mu.Lock()
	a.at = append(a.at, at)
	a.send = append(a.send, sendID)
	close(a.wake)
	a.wake = make(chan struct{})
	a.mu.Unlock()
}

// count is the number of messages so far.
func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// since returns the arrivals from index from on.
func (a *arrivals) since(from int) ([]time.Time, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at[from:]...), append([]string(nil), a.send[from:]...)
}

// wait blocks until there are n arrivals and returns the latest arrival time.
func (a *arrivals) wait(ctx context.Context, n int, deadline time.Time) (time.Time, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		a.mu.Lock()
		got, wake := len(a.at), a.wake
		var last time.Time
		if got >= n {
			for _, t := range a.at {
				if t.After(last) {
					last = t
				}
			}
		}
		a.mu.Unlock()
		if got >= n {
			return last, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return time.Time{}, fmt.Errorf("only %d of %d messages reached the stand-in", got, n)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}
