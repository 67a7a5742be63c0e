package pacing

import (
	"context"
	"sync"
	"time"
)

// Ask is one sender's slot asked for by one send: ReserveWithin's arguments.
type Ask struct {
	Key       string
	PerSecond float64
	Burst     int
	Max       time.Duration
}

// Grant answers an Ask: OK reports that the slot was taken, Wait how long
// until it comes (or, not taken, how long the next slot is away).
type Grant struct {
	Wait time.Duration
	OK   bool
}

// batchGroups is how many senders' scripts a batch runs at once.
const batchGroups = 8

// ReserveBatch answers many asks at once, as ReserveWithin would answer
// each in the order given: one round trip per sender (asks alike in key,
// rate, burst and bound), the senders' round trips run side by side. A
// burst of sends due at the same moment thus costs one script call per
// sender instead of one per send. An error fails the whole batch; the
// senders whose scripts ran keep their slots (as a reservation given up
// does: the bucket errs on the slow side).
func (l *Limiter) ReserveBatch(ctx context.Context, asks []Ask) ([]Grant, error) {
	groups := map[Ask][]int{}
	var order []Ask
	for i, a := range asks {
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], i)
	}
	out := make([]Grant, len(asks))
	errs := make([]error, len(order))
	sem := make(chan struct{}, batchGroups)
	var wg sync.WaitGroup
	for g, a := range order {
		idx := groups[a]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, waits, taken, err := l.many(ctx, a.Key, a.PerSecond, a.Burst, a.Max, len(idx))
			if err != nil {
				errs[g] = err
				return
			}
			for k, i := range idx {
				// Those after the first refused slot wait at least as long.
				out[i] = Grant{Wait: waits[min(k, len(waits)-1)], OK: k < taken}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
