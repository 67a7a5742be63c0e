package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/egress"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// TestDeliverOtherClinicsSendIsIgnored: a delivery task naming a send with
// another clinic than the send's claims nothing and sends nothing; the send
// is delivered when its own clinic's task comes.
func TestDeliverOtherClinicsSendIsIgnored(t *testing.T) {
	t.Parallel()
	a := setup(t, setupOpts{})
	b := setup(t, setupOpts{st: a.st})
	for _, final := range []bool{false, true} {
		if err := a.d.Deliver(context.Background(), a.clinic.ID, b.send.ID, final); err != nil {
			t.Fatalf("deliver B's send as A's (final %v): %v", final, err)
		}
	}
	task, err := tasks.NewDeliverTask(a.clinic.ID, b.send.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.d.ProcessTask(context.Background(), task); err != nil {
		t.Fatalf("task for B's send with A's clinic: %v", err)
	}
	if got := b.reload(t); got.Status != beckon.SendPlanned || got.Attempts != 0 || got.ClaimToken != "" {
		t.Fatalf("B's send after A's tasks: %+v", got)
	}
	if n := a.ch.calls.Load() + b.ch.calls.Load(); n != 0 {
		t.Fatalf("%d provider calls for a task naming another clinic's send", n)
	}
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	if got := b.reload(t); got.Status != beckon.SendSent {
		t.Fatalf("B's send after its own task: %s", got.Status)
	}
}

// TestDeliverTaskWithoutClinicIsDropped: a task queued before payloads
// carried the clinic is dropped without an error (so asynq frees its id for
// the pump to enqueue the send again) and touches nothing.
func TestDeliverTaskWithoutClinicIsDropped(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	raw, _ := json.Marshal(map[string]string{"send_id": b.send.ID})
	if err := b.d.ProcessTask(context.Background(), asynq.NewTask(tasks.TypeDeliver, raw)); err != nil {
		t.Fatalf("legacy task: %v, want nil", err)
	}
	if got := b.reload(t); got.Status != beckon.SendPlanned || got.Attempts != 0 || b.ch.calls.Load() != 0 {
		t.Fatalf("send after a legacy task: %+v, %d calls", got, b.ch.calls.Load())
	}
}

// TestWritebackOtherClinicsIsIgnored: a write-back task naming another
// clinic's write-back neither runs nor updates it.
func TestWritebackOtherClinicsIsIgnored(t *testing.T) {
	t.Parallel()
	a := setup(t, setupOpts{})
	b := setup(t, setupOpts{st: a.st})
	ctx := context.Background()
	w := beckon.Writeback{ID: "wbk_b", ClinicID: b.clinic.ID, AppointmentID: b.appt.ID, Kind: beckon.WritebackWebhook,
		Status: beckon.WritebackPending, CreatedAt: a.clock.Now(), UpdatedAt: a.clock.Now()}
	if err := a.st.WritebackInsert(ctx, w); err != nil {
		t.Fatal(err)
	}
	wb := worker.NewWritebacker(a.st, a.clock, slog.New(slog.DiscardHandler), egress.Policy{})
	for _, p := range []tasks.WritebackPayload{
		{ClinicID: a.clinic.ID, WritebackID: w.ID}, // another clinic's
		{WritebackID: w.ID},                        // no clinic: queued before payloads had one
	} {
		raw, _ := json.Marshal(p)
		err := wb.ProcessTask(ctx, asynq.NewTask(tasks.TypeWriteback, raw))
		if err != nil && !errors.Is(err, asynq.SkipRetry) {
			t.Fatalf("payload %+v: %v", p, err)
		}
	}
	got, err := a.st.WritebackGet(ctx, b.clinic.ID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != w {
		t.Fatalf("B's write-back after A's tasks: %+v, want %+v", got, w)
	}
}
