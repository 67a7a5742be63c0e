package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/worker"
)

// gateChannel holds every call until it is opened.
type gateChannel struct {
	*fakeChannel
	called chan struct{}
	open   chan struct{}
}

func (g gateChannel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	g.called <- struct{}{}
	<-g.open
	return g.fakeChannel.Send(ctx, m)
}

// A delivery in flight longer than the claim timeout keeps its claim: it is
// renewed, so another worker does not take it over and send it again.
func TestClaimInFlightIsRenewed(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	g := gateChannel{fakeChannel: b.ch, called: make(chan struct{}, 1), open: make(chan struct{})}
	cfg := worker.Config{ClaimTimeout: 200 * time.Millisecond}
	first := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: g}, b.clock, quiet, cfg)
	second := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: g}, b.clock, quiet, cfg)
	ctx := context.Background()

	done := make(chan error, 1)
	go func() { done <- first.Deliver(ctx, b.clinic.ID, b.send.ID, false) }()
	select {
	case <-g.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the provider was never called")
	}
	// Time passes well beyond the claim timeout while the call hangs.
	b.clock.Advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for !b.reload(t).ClaimedAt.Equal(b.clock.Now()) {
		if time.Now().After(deadline) {
			t.Fatalf("claim never renewed: claimed at %v, now %v", b.reload(t).ClaimedAt, b.clock.Now())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := second.Deliver(ctx, b.clinic.ID, b.send.ID, false); !errors.Is(err, worker.ErrBusy) {
		t.Fatalf("another worker took a live claim over: %v", err)
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.wantOneSent(t)
	if c := b.ch.calls.Load(); c != 1 {
		t.Fatalf("provider called %d times, want 1", c)
	}
}
