package worker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/worker"
)

// stallingStore runs stall once, right after the first provider call start
// it records: the worker that recorded it is held there, as a worker starved
// of CPU (or whose statement waited on the database's lock) would be,
// between recording the call's start and making the call.
type stallingStore struct {
	beckon.Store
	once  sync.Once
	stall func()
}

func (s *stallingStore) SendCallStartMany(ctx context.Context, calls []beckon.SendCall, now time.Time) ([]string, error) {
	lost, err := s.Store.SendCallStartMany(ctx, calls, now)
	if err == nil && len(lost) == 0 {
		s.once.Do(s.stall)
	}
	return lost, err
}

// A live worker stalls after recording its call's start, long enough for its
// claim to go stale and for another worker to take it over, wait out the
// call's timeout from its recorded start, find nothing at the provider and
// send. The stalled worker must not make its call when it wakes: the call's
// timeout runs from its recorded start, not from when the call is made.
func TestStalledWorkerDoesNotCallAfterTakeover(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	var taker error
	st := &stallingStore{Store: b.st}
	st.stall = func() {
		// Minutes pass (the claim timeout here is two): the claim is stale,
		// and the call's timeout from its recorded start is long over.
		b.clock.Advance(3 * time.Minute)
		taker = b.deliver(t)
	}
	stalled := worker.NewDeliverer(st, channels.Static{beckon.ChannelSMS: b.ch}, b.clock, quiet, worker.Config{ClaimTimeout: 2 * time.Minute})
	if err := stalled.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
		t.Fatalf("stalled worker: %v", err)
	}
	if taker != nil {
		t.Fatalf("worker that took over: %v", taker)
	}
	if c := b.ch.calls.Load(); c != 1 {
		t.Fatalf("channel called %d times, want 1 (the worker that took over)", c)
	}
	b.wantOneSent(t)
}

// The call's timeout runs from its recorded start: a call that starts late
// gets only what is left of it, and one with too little left is not made but
// handed back, to be sent afresh.
func TestLateCallHandedBack(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	st := &stallingStore{Store: b.st}
	st.stall = func() { b.clock.Advance(9 * time.Second) } // of the default 10 s
	late := worker.NewDeliverer(st, channels.Static{beckon.ChannelSMS: b.ch}, b.clock, quiet, worker.Config{})
	if err := late.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
		t.Fatalf("late worker: %v", err)
	}
	if c := b.ch.calls.Load(); c != 0 {
		t.Fatalf("channel called %d times, want 0", c)
	}
	if s := b.reload(t); s.Status != beckon.SendPlanned {
		t.Fatalf("send = %s (%q), want planned again", s.Status, s.Reason)
	}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	b.wantOneSent(t)
}

// takeOverFailingStore fails handing an abandoned call on, as a database
// error (a lock wait that ran out) or a worker stopped at that moment would.
type takeOverFailingStore struct{ beckon.Store }

func (takeOverFailingStore) SendCallTakeOver(context.Context, string, string, string, string) (beckon.SendCall, bool, error) {
	return beckon.SendCall{}, false, errors.New("database is locked")
}

// A worker dies during a call the provider got; the worker that takes its
// claim over fails before it has settled the call, and leaves the claim to
// go stale again. The next worker must still settle that call by the
// provider's word (found: recorded, not sent again).
func TestTakeoverInterruptedStillSettlesTheCall(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.abandonClaim(t, callReceived)
	first := worker.NewDeliverer(takeOverFailingStore{b.st}, channels.Static{beckon.ChannelSMS: b.ch}, b.clock, quiet, worker.Config{ClaimTimeout: 2 * time.Minute})
	if err := first.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err == nil {
		t.Fatal("want the take-over error")
	}
	if s := b.reload(t); s.Status != beckon.SendClaimed || s.ClaimToken == "dead-worker" {
		t.Fatalf("send = %s under %q, want claimed by the worker that took over", s.Status, s.ClaimToken)
	}
	b.clock.Advance(3 * time.Minute)
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if c := b.ch.calls.Load(); c != 1 {
		t.Fatalf("channel called %d times, want 1 (the dead worker's)", c)
	}
	b.wantOneSent(t)
}
