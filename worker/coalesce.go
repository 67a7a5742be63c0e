package worker

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// coalescer runs calls that arrive while earlier ones are in flight as one
// batch. Alone, a call runs at once; under load, the calls that queued during
// a round trip share the next one, so hundreds of concurrent deliveries cost
// a handful of statements instead of hundreds. No call waits on a timer.
type coalescer[Req, Res any] struct {
	max     int           // calls per batch
	lanes   int           // batches in flight at once
	timeout time.Duration // bound on one batch
	// run returns one result per request, in order; an error fails the batch.
	run func(ctx context.Context, reqs []Req) ([]Res, error)

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

// do queues req and returns its result. It waits for the batch that carries
// req even when ctx ends: the batch may already have acted on it (a claim
// taken must be known to its caller), and it is bounded by the timeout.
func (c *coalescer[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	cl := &call[Req, Res]{req: req, done: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, cl)
	start := c.active < c.lanes
	if start {
		c.active++
	}
	c.mu.Unlock()
	if start {
		go c.drain(context.WithoutCancel(ctx))
	}
	<-cl.done
	return cl.res, cl.err
}

// drain runs batches until nothing is pending.
func (c *coalescer[Req, Res]) drain(ctx context.Context) {
	for {
		c.mu.Lock()
		n := min(len(c.pending), c.max)
		if n == 0 {
			c.active--
			c.mu.Unlock()
			return
		}
		batch := make([]*call[Req, Res], n)
		copy(batch, c.pending)
		c.pending = append(c.pending[:0], c.pending[n:]...)
		c.mu.Unlock()
		c.runBatch(ctx, batch)
	}
}

func (c *coalescer[Req, Res]) runBatch(ctx context.Context, batch []*call[Req, Res]) {
	reqs := make([]Req, len(batch))
	for i, cl := range batch {
		reqs[i] = cl.req
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var res []Res
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("batch panicked: %v", p)
			}
		}()
		res, err = c.run(ctx, reqs)
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
