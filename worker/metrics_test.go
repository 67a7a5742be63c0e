package worker_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels"
)

// countingMetrics is a worker.Metrics that keeps what it is told.
type countingMetrics struct {
	mu     sync.Mutex
	events []string
}

func (c *countingMetrics) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, fmt.Sprintf(format, args...))
}

func (c *countingMetrics) SendEnded(channel, status string) { c.add("ended %s %s", channel, status) }
func (c *countingMetrics) SendLateness(channel string, late time.Duration) {
	c.add("late %s %s", channel, late)
}
func (c *countingMetrics) ProviderRequest(provider, outcome string, _ time.Duration) {
	c.add("call %s %s", provider, outcome)
}
func (c *countingMetrics) PaceWait(wait time.Duration)  { c.add("pace %s", wait) }
func (c *countingMetrics) EventDelivery(outcome string) { c.add("event %s", outcome) }
func (c *countingMetrics) InboundMessage(intent string) { c.add("inbound %s", intent) }

func (c *countingMetrics) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// The deliverer reports each provider call with its outcome, the lateness
// of the call, and the send's end by status and channel (none when it ended
// before a channel was chosen); a retried send reports no end.
func TestDeliverMetrics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		prepare func(b *bundle)
		want    []string
	}{
		{"sent", func(b *bundle) {}, []string{"late sms 0s", "call unknown ok", "ended sms sent"}},
		{"permanent", func(b *bundle) {
			b.ch.fail = []error{&channels.Error{Kind: channels.KindPermanent, Code: "21211", Reason: "invalid number"}}
		}, []string{"late sms 0s", "call unknown permanent", "ended sms failed"}},
		{"transient", func(b *bundle) {
			b.ch.fail = []error{&channels.Error{Kind: channels.KindTransient, Code: "http_500", Reason: "provider error"}}
		}, []string{"late sms 0s", "call unknown transient"}},
		{"late and throttled", func(b *bundle) {
			b.clock.Advance(90 * time.Second)
			b.ch.fail = []error{&channels.Error{Kind: channels.KindThrottled, Code: "20429", Reason: "slow down"}}
		}, []string{"late sms 1m30s", "call unknown transient"}},
		{"appointment started before the call", func(b *bundle) {
			b.clock.Set(b.appt.Start.Add(time.Minute))
		}, []string{"ended  skipped"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := &countingMetrics{}
			b := setup(t, setupOpts{metrics: m})
			c.prepare(b)
			_ = b.deliver(t)
			if got := m.seen(); !slices.Equal(got, c.want) {
				t.Errorf("metrics %q, want %q", got, c.want)
			}
		})
	}
}
