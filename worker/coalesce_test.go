package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// pendingCount is how many calls wait for a batch.
func (c *coalescer[Req, Res]) pendingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

func TestCoalescerBatchesCallsThatArriveDuringARoundTrip(t *testing.T) {
	t.Parallel()
	const n = 50
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	c := &coalescer[int, string]{max: 20, lanes: 1, timeout: time.Minute}
	c.run = func(ctx context.Context, reqs []int) ([]string, error) {
		mu.Lock()
		first := len(sizes) == 0
		sizes = append(sizes, len(reqs))
		mu.Unlock()
		if first {
			<-release // the first round trip is slow: the rest queue up
		}
		out := make([]string, len(reqs))
		for i, r := range reqs {
			out[i] = fmt.Sprint("r", r)
		}
		return out, nil
	}
	results := make([]string, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0], _ = c.do(context.Background(), 0)
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = c.do(context.Background(), i)
		}()
	}
	waitFor(t, func() bool { return c.pendingCount() == n-1 })
	close(release)
	wg.Wait()
	for i, r := range results {
		if r != fmt.Sprint("r", i) {
			t.Fatalf("call %d got %q", i, r)
		}
	}
	// One call alone, then the 49 that queued in batches of at most 20.
	if want := []int{1, 20, 20, 9}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Fatalf("batch sizes %v, want %v", sizes, want)
	}
	// The last caller returns before its lane notices nothing is left.
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.active == 0 })
}

func TestCoalescerFailsEveryCallOfAFailedBatch(t *testing.T) {
	t.Parallel()
	for name, run := range map[string]func(context.Context, []int) ([]int, error){
		"error":         func(context.Context, []int) ([]int, error) { return nil, errors.New("database gone") },
		"panic":         func(context.Context, []int) ([]int, error) { panic("bug") },
		"short results": func(context.Context, []int) ([]int, error) { return nil, nil },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &coalescer[int, int]{max: 10, lanes: 2, timeout: time.Minute, run: run}
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = c.do(context.Background(), i)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err == nil {
					t.Fatalf("call %d succeeded", i)
				}
			}
			if name == "panic" && !strings.Contains(errs[0].Error(), "panicked") {
				t.Fatalf("error %q does not say the batch panicked", errs[0])
			}
		})
	}
}

func TestCoalescerBoundsABatchByItsTimeout(t *testing.T) {
	t.Parallel()
	c := &coalescer[int, int]{max: 10, lanes: 1, timeout: 10 * time.Millisecond}
	c.run = func(ctx context.Context, reqs []int) ([]int, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller's own end does not cut the batch short
	if _, err := c.do(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the batch's deadline", err)
	}
}

// waitFor polls cond until it holds, or fails the test after a deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(time.Millisecond)
	}
}
