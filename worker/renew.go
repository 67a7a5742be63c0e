package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
)

// renewer keeps the claims of the deliveries in flight fresh: every few
// seconds one statement renews them all. A live worker's claim never goes
// stale, so a stale claim is a stopped worker's, and the claim timeout can be
// seconds (a crash is found in seconds) without ever taking over a claim
// whose worker is still at it, however long its pacing wait or provider call.
type renewer struct {
	st     DeliveryStore
	clock  beckon.Clock
	every  time.Duration
	logger *slog.Logger

	mu      sync.Mutex
	live    map[string]string // send id → claim token
	running bool
}

func newRenewer(st DeliveryStore, clock beckon.Clock, every time.Duration, logger *slog.Logger) *renewer {
	return &renewer{st: st, clock: clock, every: every, logger: logger, live: map[string]string{}}
}

// hold keeps the send's claim fresh until the returned func is called. The
// renewing goroutine runs only while some claim is held.
func (r *renewer) hold(sendID, token string) (release func()) {
	r.mu.Lock()
	r.live[sendID] = token
	if !r.running {
		r.running = true
		go r.loop()
	}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		if r.live[sendID] == token {
			delete(r.live, sendID)
		}
		r.mu.Unlock()
	}
}

func (r *renewer) loop() {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for range t.C {
		r.mu.Lock()
		if len(r.live) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		claims := make([]beckon.ClaimRef, 0, len(r.live))
		for id, token := range r.live {
			claims = append(claims, beckon.ClaimRef{ID: id, Token: token})
		}
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), r.every)
		err := r.st.SendClaimRenew(ctx, claims, r.clock.Now())
		cancel()
		if err != nil {
			// Claims not renewed for a claim timeout are taken over; the call
			// records make that safe, but it should not happen to a live worker.
			r.logger.Warn("renewing claims failed", slog.Int("claims", len(claims)), slog.String("error", err.Error()))
		}
	}
}
