// Package coalesce runs calls that arrive while earlier ones are in flight
// as one batch. Alone, a call runs at once; under load, the calls that queue
// during a round trip share the next one, so hundreds of concurrent callers
// cost a handful of statements instead of hundreds. No call waits on a timer.
//
// Beckon batches its deliveries' claims, final checks, call starts and
// records this way (worker), and the provider statuses its webhooks store
// (api).
package coalesce

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Batcher batches the calls of Do. Set its fields before the first call and
// do not change them after.
type Batcher[Req, Res any] struct {
	// Max bounds a batch's weight (a batch always takes at least one call).
	Max int
	// Lanes is how many batches may be in flight at once.
	Lanes int
	// Timeout bounds one batch.
	Timeout time.Duration
	// Weight is a call's share of Max; nil: 1 each.
	Weight func(Req) int
	// Run returns one result per request, in order; an error (or a panic,
	// or a wrong count of results) fails every call of the batch.
	Run func(ctx context.Context, reqs []Req) ([]Res, error)

	mu      sync.Mutex
	pending []*call[Req, Res]
	active  int
}

type call[Req, Res any] struct {
	req  Req
	res  Res
	err  error
	done chan struct{}
}

// Do queues req and returns its result. It waits for the batch that carries
// req even when ctx ends: the batch may already have acted on it (a claim
// taken, a status stored must be known to its caller), and it is bounded by
// the Timeout.
func (b *Batcher[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	cl := &call[Req, Res]{req: req, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, cl)
	start := b.active < b.Lanes
	if start {
		b.active++
	}
	b.mu.Unlock()
	if start {
		go b.drain(context.WithoutCancel(ctx))
	}
	<-cl.done
	return cl.res, cl.err
}

// Pending is how many calls wait for a batch.
func (b *Batcher[Req, Res]) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Active is how many lanes are running batches.
func (b *Batcher[Req, Res]) Active() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active
}

// drain runs batches until nothing is pending.
func (b *Batcher[Req, Res]) drain(ctx context.Context) {
	for batch := b.next(); len(batch) > 0; batch = b.next() {
		b.runBatch(ctx, batch)
	}
}

// next takes the calls of the next batch off the queue: at least one, then
// as many as fit in Max. Without any, the lane ends.
func (b *Batcher[Req, Res]) next() []*call[Req, Res] {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, weight := 0, 0
	for n < len(b.pending) {
		w := 1
		if b.Weight != nil {
			w = b.Weight(b.pending[n].req)
		}
		if n > 0 && weight+w > b.Max {
			break
		}
		weight += w
		n++
		if weight >= b.Max {
			break
		}
	}
	if n == 0 {
		b.active--
		return nil
	}
	batch := make([]*call[Req, Res], n)
	copy(batch, b.pending)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	return batch
}

func (b *Batcher[Req, Res]) runBatch(ctx context.Context, batch []*call[Req, Res]) {
	reqs := make([]Req, len(batch))
	for i, cl := range batch {
		reqs[i] = cl.req
	}
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	var res []Res
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("batch panicked: %v", p)
			}
		}()
		res, err = b.Run(ctx, reqs)
		if err == nil && len(res) != len(reqs) {
			err = fmt.Errorf("batch returned %d results for %d requests", len(res), len(reqs))
		}
		return err
	}()
	for i, cl := range batch {
		if err != nil {
			cl.err = err
		} else {
			cl.res = res[i]
		}
		close(cl.done)
	}
}
