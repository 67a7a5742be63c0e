package pacing

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// A batch of asks is answered as the same asks made one after another
// would be: at 10/s, ten sends due together get slots 100 ms apart, in the
// order asked, in one round trip; another sender in the same batch is paced
// on its own.
func TestReserveBatchAsInTurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := New(client(t), prefix(t))
	a := Ask{Key: "a", PerSecond: 10, Burst: 1, Max: 5 * time.Second}
	b := Ask{Key: "b", PerSecond: 1, Burst: 2, Max: 5 * time.Second}
	var asks []Ask
	for i := range 10 {
		asks = append(asks, a)
		if i < 3 {
			asks = append(asks, b)
		}
	}
	got, err := l.ReserveBatch(ctx, asks)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(asks) {
		t.Fatalf("%d grants for %d asks", len(got), len(asks))
	}
	var ga, gb []Grant
	for i, g := range got {
		if !g.OK {
			t.Fatalf("ask %d (%s) refused within the bound: %+v", i, asks[i].Key, g)
		}
		if asks[i].Key == "a" {
			ga = append(ga, g)
		} else {
			gb = append(gb, g)
		}
	}
	// Slot k of a is k×100 ms away (less the few ms the call took).
	for k, g := range ga {
		want := time.Duration(k) * 100 * time.Millisecond
		if g.Wait > want || g.Wait < want-50*time.Millisecond {
			t.Errorf("a's slot %d: wait %v, want about %v", k, g.Wait, want)
		}
	}
	// b has a burst of 2 at 1/s: two at once, the third about 1 s later.
	if gb[0].Wait != 0 || gb[1].Wait != 0 || gb[2].Wait < 900*time.Millisecond || gb[2].Wait > time.Second {
		t.Errorf("b's slots: %+v, want 0, 0, about 1s", gb)
	}
	// The batch took exactly its slots: the next of a is about 1 s away.
	if w, err := l.Peek(ctx, "a", 10, 1); err != nil || w < 900*time.Millisecond || w > time.Second {
		t.Errorf("a's next slot after the batch: %v %v, want about 1s", w, err)
	}
}

// Asks past the bound are refused and reserve nothing: the first refused
// and every later one of its sender learn how far away the next slot is.
func TestReserveBatchBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := New(client(t), prefix(t))
	a := Ask{Key: "k", PerSecond: 10, Burst: 1, Max: 450 * time.Millisecond}
	asks := make([]Ask, 8)
	for i := range asks {
		asks[i] = a
	}
	got, err := l.ReserveBatch(ctx, asks)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		switch {
		case i < 5 && !g.OK:
			t.Errorf("slot %d (%v away) refused within a 450 ms bound", i, g.Wait)
		case i >= 5 && g.OK:
			t.Errorf("slot %d (%v away) taken past a 450 ms bound", i, g.Wait)
		case i >= 5 && (g.Wait < 450*time.Millisecond || g.Wait > 500*time.Millisecond):
			t.Errorf("refused slot %d: wait %v, want the next slot, about 500ms", i, g.Wait)
		}
	}
	if w, err := l.Peek(ctx, "k", 10, 1); err != nil || w < 450*time.Millisecond || w > 500*time.Millisecond {
		t.Errorf("next slot after the refusals: %v %v, want about 500ms (nothing more reserved)", w, err)
	}
	if _, err := l.ReserveBatch(ctx, []Ask{{Key: "k", PerSecond: 0, Burst: 1}}); err == nil {
		t.Error("zero rate accepted")
	}
}

// Batches of slots and single reservations running at once share the
// bucket: the slots they take never put more than 10 in any one-second
// window of a 10/s key.
func TestReserveManyConcurrent(t *testing.T) {
	t.Parallel()
	l := New(client(t), prefix(t))
	const key = "+15005550006"
	var (
		mu    sync.Mutex
		times []time.Time
		wg    sync.WaitGroup
	)
	for c := range 4 {
		wg.Go(func() {
			for range 5 {
				n := 1 + 2*(c%2) // batches of 3 and single slots
				at, waits, taken, err := l.many(context.Background(), key, 10, 1, time.Hour, n)
				if err != nil || taken != n {
					t.Error(taken, err)
					return
				}
				mu.Lock()
				for _, w := range waits {
					times = append(times, at.Add(w))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(times) != 2*5*3+2*5 {
		t.Fatalf("%d reservations", len(times))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if n, start := busiestSecond(times); n > 10 {
		t.Fatalf("%d sends in the second from %v", n, start)
	}
}
