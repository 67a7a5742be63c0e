package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/coalesce"
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
	put func(ctx context.Context, entries []beckon.StatusInboxEntry) error

	once  sync.Once
	posts *coalesce.Batcher[[]beckon.StatusInboxEntry, error]
}

// write stores the entries (in one transaction, possibly shared with other
// requests') and returns when they are stored or the write failed. It waits
// for the write even if ctx ends, so that the caller knows whether the
// statuses were taken (the write is bounded by inboxTimeout).
func (w *inboxWriter) write(ctx context.Context, entries []beckon.StatusInboxEntry) error {
	w.once.Do(func() {
		w.posts = &coalesce.Batcher[[]beckon.StatusInboxEntry, error]{
			Max: inboxGroupRows, Lanes: inboxWriters, Timeout: inboxTimeout,
			Weight: func(post []beckon.StatusInboxEntry) int { return len(post) },
			Run:    w.store,
		}
	})
	res, err := w.posts.Do(ctx, entries)
	return errors.Join(err, res)
}

// queued is how many posts wait for a write.
func (w *inboxWriter) queued() int {
	if w.posts == nil {
		return 0
	}
	return w.posts.Pending()
}

// store writes the posts' statuses in one transaction. One post's bad status
// must not cost the others theirs: when the shared write fails, each post is
// written again on its own.
func (w *inboxWriter) store(ctx context.Context, posts [][]beckon.StatusInboxEntry) ([]error, error) {
	var all []beckon.StatusInboxEntry
	for _, p := range posts {
		all = append(all, p...)
	}
	out := make([]error, len(posts))
	err := w.put(ctx, all)
	if err == nil || len(posts) == 1 {
		for i := range out {
			out[i] = err
		}
		return out, nil
	}
	for i, p := range posts {
		out[i] = w.put(ctx, p)
	}
	return out, nil
}
