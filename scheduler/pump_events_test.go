package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// An event recorded by any transaction reaches asynq on the next pass, due
// at its delivery's next attempt; a task asynq still holds is left as it
// is; a delivered one is not handed again.
func TestPumpHandsEventDeliveriesToAsynq(t *testing.T) {
	t.Parallel()
	b := pumpSetup(t)
	ctx := context.Background()
	if _, err := b.st.WebhookEndpointPut(ctx, beckon.WebhookEndpoint{
		ClinicID: b.clin.ID, ID: "ehr", URL: "https://ehr.example/x", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true,
	}); err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	if err := b.st.EventAppend(ctx, beckon.Event{ID: "evt_pump", ClinicID: b.clin.ID, Type: beckon.EventMessageDelivered, At: now}); err != nil {
		t.Fatal(err)
	}
	id := beckon.WebhookDeliveryID("evt_pump", "ehr")
	if s := b.run(t); s.Events != 1 {
		t.Fatalf("stats %+v, want the new delivery handed to asynq", s)
	}
	info, ok := b.task(id)
	if !ok || info.Type != tasks.TypeEventDelivery || info.MaxRetry != tasks.EventMaxAttempts {
		t.Fatalf("task %+v (found %v), want a %s task with %d retries", info, ok, tasks.TypeEventDelivery, tasks.EventMaxAttempts)
	}
	if s := b.run(t); s.Events != 0 {
		t.Fatalf("stats %+v: handed again within the recheck", s)
	}
	// Past the recheck, asynq still holds it: a conflict, nothing new.
	b.clock.Advance(time.Minute)
	if s := b.run(t); s.Events != 0 {
		t.Fatalf("stats %+v: want nothing new while asynq holds the task", s)
	}
	d, err := b.st.WebhookDeliveryGet(ctx, b.clin.ID, id)
	if err != nil || !d.EnqueuedAt.Equal(b.clock.Now()) {
		t.Fatalf("delivery %+v (%v): want marked enqueued at the pass", d, err)
	}
}
