package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// inboundMessage stores an inbound message received age ago, as the
// webhook does while Redis is down.
func (b *pumpBundle) inboundMessage(t *testing.T, sid string, age time.Duration) beckon.InboundSMS {
	t.Helper()
	m, _, err := b.st.InboundSMSPut(context.Background(), beckon.InboundSMS{
		ClinicID: b.clin.ID, Provider: "twilio", ProviderID: sid, Body: "C", ReceivedAt: b.clock.Now().Add(-age),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPumpHandsInboundNotInterpretedToAsynq(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	old := b.inboundMessage(t, "SMold", time.Minute)
	fresh := b.inboundMessage(t, "SMfresh", time.Second)
	done := b.inboundMessage(t, "SMdone", time.Minute)
	if _, err := b.st.InboundSMSInterpreted(ctx, beckon.InboundInterpretParams{ClinicID: b.clin.ID, ID: done.ID, Intent: "pending"}); err != nil {
		t.Fatal(err)
	}
	if s := b.run(t); s.Inbound != 1 {
		t.Fatalf("stats %+v, want the message waiting a minute handed to asynq", s)
	}
	info, ok := b.task(tasks.InterpretTaskID(b.clin.ID, old.ID))
	if !ok || info.Type != tasks.TypeInterpret || info.Queue != b.queue {
		t.Fatalf("task %+v (found %v), want an interpret task", info, ok)
	}
	p, err := tasks.ParseInterpretPayload(info.Payload)
	if err != nil || p.ClinicID != b.clin.ID || p.MessageID != old.ID {
		t.Fatalf("payload %+v, %v", p, err)
	}
	for _, m := range []beckon.InboundSMS{fresh, done} {
		if _, ok := b.task(tasks.InterpretTaskID(b.clin.ID, m.ID)); ok {
			t.Fatalf("%s was enqueued (fresh, or interpreted already)", m.ProviderID)
		}
	}
	// A recheck later the fresh one goes; the old one, held by asynq, is a no-op.
	b.clock.Advance(30 * time.Second)
	if s := b.run(t); s.Inbound != 1 {
		t.Fatalf("stats %+v, want only the newer message enqueued", s)
	}
	if _, ok := b.task(tasks.InterpretTaskID(b.clin.ID, fresh.ID)); !ok {
		t.Fatal("the newer message was not handed to asynq")
	}
}
