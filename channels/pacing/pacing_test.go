package pacing

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// client returns the Redis of REDIS_URL when set (CI), else a miniredis.
func client(t *testing.T) *redis.Client {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		return c
	}
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// Four concurrent callers sharing a 10/s bucket: the send times the limiter
// hands out never put more than 10 in any one-second window.
func TestFourCallersTenPerSecond(t *testing.T) {
	t.Parallel()
	l := New(client(t), prefix(t))
	const callers, each = 4, 15
	var (
		mu    sync.Mutex
		times []time.Time
		wg    sync.WaitGroup
	)
	for range callers {
		wg.Go(func() {
			for range each {
				at, wait, err := l.reserve(context.Background(), "+15005550006", 10, 1)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				times = append(times, at.Add(wait))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(times) != callers*each {
		t.Fatalf("%d reservations", len(times))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if n, start := busiestSecond(times); n > 10 {
		t.Fatalf("%d sends in the second from %v", n, start)
	}
	// And the rate is used: 60 sends take about 6 s of schedule, not more.
	if span := times[len(times)-1].Sub(times[0]); span > 6*time.Second {
		t.Errorf("schedule spans %v, want under 6s", span)
	}
}

func TestBurstAndKeys(t *testing.T) {
	t.Parallel()
	l := New(client(t), prefix(t))
	ctx := context.Background()
	for i := range 3 {
		w, err := l.Reserve(ctx, "a", 1, 3)
		if err != nil || w != 0 {
			t.Fatalf("burst slot %d: wait %v, %v", i, w, err)
		}
	}
	w, err := l.Reserve(ctx, "a", 1, 3)
	if err != nil || w < 900*time.Millisecond || w > time.Second {
		t.Fatalf("after the burst: wait %v, %v", w, err)
	}
	if w, err := l.Reserve(ctx, "b", 1, 1); err != nil || w != 0 {
		t.Fatalf("other key: wait %v, %v", w, err)
	}
	if _, err := l.Reserve(ctx, "a", 0, 1); err == nil {
		t.Error("zero rate accepted")
	}
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	l := New(client(t), prefix(t))
	ctx := context.Background()
	if err := l.Wait(ctx, "k", 0.01, 1); err != nil { // first slot: no wait
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(cctx, "k", 0.01, 1); err == nil { // next slot in 100 s
		t.Fatal("Wait returned before its slot")
	}
}

// Peek tells the wait a reservation would have, and takes nothing.
func TestPeekTakesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := New(client(t), prefix(t))
	for range 3 {
		if _, err := l.Reserve(ctx, "k", 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	var peeks []time.Duration
	for range 3 {
		w, err := l.Peek(ctx, "k", 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		peeks = append(peeks, w)
	}
	// Three reserved at 1/s: the next slot is about 3 s away, every time.
	for _, w := range peeks {
		if w < 2*time.Second || w > 3*time.Second {
			t.Fatalf("peeks %v, want about 3s each", peeks)
		}
	}
	w, err := l.Reserve(ctx, "k", 1, 1)
	if err != nil || w < 2*time.Second || w > 3*time.Second {
		t.Fatalf("reserve after peeks: %v %v, want the slot peeked", w, err)
	}
	if w, err := l.Peek(ctx, "empty", 1, 1); err != nil || w != 0 {
		t.Fatalf("peek of an empty bucket: %v %v", w, err)
	}
}

// prefix is a key prefix of the test's own: keys outlive a run on a shared
// Redis, and a slow bucket left by an earlier run would make this one wait.
func prefix(t *testing.T) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
}

// ReserveWithin takes a slot only within the caller's bound: a longer wait
// is told and reserves nothing; a wait within it is taken like Reserve's.
func TestReserveWithin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := New(client(t), prefix(t))
	if w, ok, err := l.ReserveWithin(ctx, "k", 1, 1, time.Second); err != nil || !ok || w != 0 {
		t.Fatalf("empty bucket: wait %v, taken %v, %v; want taken at once", w, ok, err)
	}
	for range 2 {
		if _, err := l.Reserve(ctx, "k", 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Three slots gone at 1/s: the next is about 3 s away.
	for range 3 {
		w, ok, err := l.ReserveWithin(ctx, "k", 1, 1, time.Second)
		if err != nil || ok || w < 2*time.Second || w > 3*time.Second {
			t.Fatalf("beyond the bound: wait %v, taken %v, %v; want about 3s, not taken", w, ok, err)
		}
	}
	if w, err := l.Peek(ctx, "k", 1, 1); err != nil || w < 2*time.Second || w > 3*time.Second {
		t.Fatalf("peek after refused reservations: %v %v, want the same slot free", w, err)
	}
	w, ok, err := l.ReserveWithin(ctx, "k", 1, 1, 5*time.Second)
	if err != nil || !ok || w < 2*time.Second || w > 3*time.Second {
		t.Fatalf("within the bound: wait %v, taken %v, %v; want about 3s, taken", w, ok, err)
	}
	if w, err := l.Peek(ctx, "k", 1, 1); err != nil || w < 3*time.Second || w > 4*time.Second {
		t.Fatalf("peek after the reservation: %v %v, want about 4s", w, err)
	}
	if _, _, err := l.ReserveWithin(ctx, "k", 0, 1, time.Second); err == nil {
		t.Error("zero rate accepted")
	}
}

// Concurrent callers of ReserveWithin share the bucket as Reserve's do: the
// slots taken never put more than 10 in any one-second window of a 10/s key,
// and a bound reached reserves nothing.
func TestReserveWithinConcurrent(t *testing.T) {
	t.Parallel()
	l := New(client(t), prefix(t))
	const callers, each = 4, 15
	var (
		mu      sync.Mutex
		taken   []time.Time
		refused int
		wg      sync.WaitGroup
	)
	begin := time.Now()
	for range callers {
		wg.Go(func() {
			for range each {
				at, wait, ok, err := l.within(context.Background(), "+15005550006", 10, 1, 3*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ok {
					taken = append(taken, at.Add(wait))
				} else {
					refused++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// 10/s with a 3 s bound: slots 0 s through 3 s are taken (31), the rest
	// refused; the bound moves with Redis's clock, so the calls' own duration
	// (long under the race detector on a loaded machine) opens 10/s more.
	most := max(35, 32+int(time.Since(begin).Seconds()*10))
	if len(taken) < 30 || len(taken) > most || len(taken)+refused != callers*each {
		t.Fatalf("%d taken, %d refused; want about 31 taken", len(taken), refused)
	}
	slices.SortFunc(taken, func(a, b time.Time) int { return a.Compare(b) })
	if n, start := busiestSecond(taken); n > 10 {
		t.Fatalf("%d sends in the second from %v", n, start)
	}
}

// busiestSecond returns the most of sorted times in any one-second window,
// and where that window starts.
func busiestSecond(times []time.Time) (most int, from time.Time) {
	for i, start := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(start) >= time.Second {
				break
			}
			n++
		}
		if n > most {
			most, from = n, start
		}
	}
	return most, from
}
