package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// Group writes of the status inbox.
const (
	inboxGroupRows = 1000             // statuses one write gathers (a larger post is written alone)
	inboxWriters   = 2                // writes in flight at once
	inboxTimeout   = 10 * time.Second // bound on one write
)

// inboxWriter stores the statuses of concurrent webhook requests in shared
// transactions: the requests that arrive while a write is in flight go
// together in the next one, so a burst of callbacks costs a few transactions
// instead of one each. A request alone is written at once (nothing waits for
// company), and a request's statuses are never split across transactions.
type inboxWriter struct {
	put func(ctx context.Context, entries []store.StatusInboxEntry) error

	mu      sync.Mutex
	queue   []*inboxPost // waiting for a write
	writing int          // writes in flight
}

// inboxPost is one request's statuses and, once written, the outcome.
type inboxPost struct {
	entries []store.StatusInboxEntry
	err     error
	done    chan struct{}
}

// write stores the entries (in one transaction, possibly shared with other
// requests') and returns when they are stored or the write failed. It waits
// for the write even if ctx ends, so that the caller knows whether the
// statuses were taken (the write is bounded by inboxTimeout).
func (w *inboxWriter) write(ctx context.Context, entries []store.StatusInboxEntry) error {
	post := &inboxPost{entries: entries, done: make(chan struct{})}
	w.mu.Lock()
	w.queue = append(w.queue, post)
	start := w.writing < inboxWriters
	if start {
		w.writing++
	}
	w.mu.Unlock()
	if start {
		go w.run(context.WithoutCancel(ctx))
	}
	<-post.done
	return post.err
}

// run writes groups of waiting posts until none is left.
func (w *inboxWriter) run(ctx context.Context) {
	for group := w.next(); len(group) > 0; group = w.next() {
		err := w.store(ctx, group)
		if err != nil && len(group) > 1 {
			// One post's bad status must not cost the others theirs: each
			// is written again on its own.
			for _, p := range group {
				p.err = w.store(ctx, []*inboxPost{p})
				close(p.done)
			}
			continue
		}
		for _, p := range group {
			p.err = err
			close(p.done)
		}
	}
}

// next takes the posts of the next write off the queue: at least one, and
// then as many as fit in inboxGroupRows. Without any, the writer ends.
func (w *inboxWriter) next() []*inboxPost {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, rows := 0, 0
	for n < len(w.queue) && (n == 0 || rows+len(w.queue[n].entries) <= inboxGroupRows) {
		rows += len(w.queue[n].entries)
		n++
	}
	if n == 0 {
		w.writing--
		return nil
	}
	group := make([]*inboxPost, n)
	copy(group, w.queue)
	w.queue = append(w.queue[:0], w.queue[n:]...)
	return group
}

// store writes the posts' statuses in one transaction.
func (w *inboxWriter) store(ctx context.Context, posts []*inboxPost) (err error) {
	var all []store.StatusInboxEntry
	for _, p := range posts {
		all = append(all, p.entries...)
	}
	ctx, cancel := context.WithTimeout(ctx, inboxTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("status inbox write panicked: %v", r)
		}
	}()
	return w.put(ctx, all)
}
