package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// fakeInbox records the writes of an inboxWriter; the first `hold` writes
// wait until release is closed.
type fakeInbox struct {
	mu      sync.Mutex
	writes  [][]string // keys of each write
	hold    int
	release chan struct{}
}

var errBadStatus = errors.New("bad status")

func (f *fakeInbox) put(_ context.Context, entries []beckon.StatusInboxEntry) error {
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	f.mu.Lock()
	f.writes = append(f.writes, keys)
	wait := len(f.writes) <= f.hold
	f.mu.Unlock()
	if wait {
		<-f.release
	}
	if slices.Contains(keys, "bad") {
		return errBadStatus
	}
	return nil
}

func (f *fakeInbox) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func entries(keys ...string) []beckon.StatusInboxEntry {
	var out []beckon.StatusInboxEntry
	for _, k := range keys {
		out = append(out, beckon.StatusInboxEntry{ClinicID: "cln_a", Provider: "twilio", Key: k})
	}
	return out
}

// busyWriter returns a writer whose writes in flight all wait, and the posts
// given then queued behind them; release lets them go.
func busyWriter(t *testing.T, f *fakeInbox, queued ...[]beckon.StatusInboxEntry) (w *inboxWriter, results []chan error) {
	t.Helper()
	w = &inboxWriter{put: f.put}
	f.hold, f.release = inboxWriters, make(chan struct{})
	ctx := context.Background()
	for i := range inboxWriters {
		go func() { _ = w.write(ctx, entries(fmt.Sprintf("first-%d", i))) }()
		waitUntil(t, "a write in flight", func() bool { return len(f.calls()) == i+1 })
	}
	for _, e := range queued {
		res := make(chan error, 1)
		results = append(results, res)
		go func() { res <- w.write(ctx, e) }()
		// One at a time, so that the queue's order is known.
		waitUntil(t, "the post queued", func() bool { return w.queued() == len(results) })
	}
	return w, results
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(time.Millisecond)
	}
}

// TestInboxWriterGroupsConcurrentPosts: posts that arrive while the writes in
// flight last go together in one transaction, each post whole; a post alone
// is written at once.
func TestInboxWriterGroupsConcurrentPosts(t *testing.T) {
	t.Parallel()
	f := &fakeInbox{}
	large := make([]string, inboxGroupRows)
	for i := range large {
		large[i] = fmt.Sprintf("ev-%d", i)
	}
	_, results := busyWriter(t, f, entries("a1", "a2"), entries("b"), entries(large...), entries("c"))
	close(f.release)
	for i, res := range results {
		if err := <-res; err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	// The first two posts fit in one write; the large one is alone (never
	// split); the last follows. (The writers take them in either order.)
	got := f.calls()[inboxWriters:]
	slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	want := [][]string{{"a1", "a2", "b"}, {"c"}, large}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("writes after the first: %d, want 3: a1 a2 b, c, the large post", len(got))
	}
	// Alone, a post is written at once.
	w := &inboxWriter{put: f.put}
	if err := w.write(context.Background(), entries("alone")); err != nil {
		t.Fatal(err)
	}
	if last := f.calls()[len(f.calls())-1]; !slices.Equal(last, []string{"alone"}) {
		t.Fatalf("last write %v, want the post alone", last)
	}
}

// TestInboxWriterIsolatesAFailingPost: a post the store refuses fails alone;
// the posts written with it are written again on their own and succeed.
func TestInboxWriterIsolatesAFailingPost(t *testing.T) {
	t.Parallel()
	f := &fakeInbox{}
	_, results := busyWriter(t, f, entries("ok-1"), entries("bad"), entries("ok-2"))
	close(f.release)
	for i, want := range []error{nil, errBadStatus, nil} {
		if err := <-results[i]; !errors.Is(err, want) {
			t.Fatalf("post %d: %v, want %v", i, err, want)
		}
	}
	want := [][]string{{"ok-1", "bad", "ok-2"}, {"ok-1"}, {"bad"}, {"ok-2"}}
	if got := f.calls()[inboxWriters:]; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("writes %v, want %v", got, want)
	}
}
