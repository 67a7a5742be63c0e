package main

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/channels/twiliofake"
)

// arrivals is when each message reached the Twilio stand-in, and for which
// send: a few dozen bytes a message, so that the stand-in need not keep its
// full request log and the process's peak memory is Beckon's.
type arrivals struct {
	mu   sync.Mutex
	at   []time.Time
	send []string
	wake chan struct{} // closed and replaced on every arrival
}

func newArrivals() *arrivals { return &arrivals{wake: make(chan struct{})} }

// observe is the stand-in's tap: message creates only.
func (a *arrivals) observe(r twiliofake.Request) {
	if r.Form == nil || r.Form.Get("Body") == "" {
		return
	}
	sendID := ""
	if cb, err := url.Parse(r.Form.Get("StatusCallback")); err == nil {
		sendID = cb.Query().Get(twilio.SendIDParam)
	}
	a.mu.Lock()
	a.at = append(a.at, r.Time)
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
