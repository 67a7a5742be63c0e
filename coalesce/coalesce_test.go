package coalesce

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBatcherBatchesCallsThatArriveDuringARoundTrip(t *testing.T) {
	t.Parallel()
	const n = 50
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	c := &Batcher[int, string]{Max: 20, Lanes: 1, Timeout: time.Minute}
	c.Run = func(ctx context.Context, reqs []int) ([]string, error) {
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
		results[0], _ = c.Do(context.Background(), 0)
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = c.Do(context.Background(), i)
		}()
	}
	waitFor(t, func() bool { return c.Pending() == n-1 })
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
	waitFor(t, func() bool { return c.Active() == 0 })
}

func TestBatcherFailsEveryCallOfAFailedBatch(t *testing.T) {
	t.Parallel()
	for name, run := range map[string]func(context.Context, []int) ([]int, error){
		"error":         func(context.Context, []int) ([]int, error) { return nil, errors.New("database gone") },
		"panic":         func(context.Context, []int) ([]int, error) { panic("bug") },
		"short results": func(context.Context, []int) ([]int, error) { return nil, nil },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &Batcher[int, int]{Max: 10, Lanes: 2, Timeout: time.Minute, Run: run}
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = c.Do(context.Background(), i)
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

func TestBatcherBoundsABatchByItsTimeout(t *testing.T) {
	t.Parallel()
	c := &Batcher[int, int]{Max: 10, Lanes: 1, Timeout: 10 * time.Millisecond}
	c.Run = func(ctx context.Context, reqs []int) ([]int, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller's own end does not cut the batch short
	if _, err := c.Do(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
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
