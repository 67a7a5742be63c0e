package tasks_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/tasks"
)

func TestEventDeliveryPayloadBytes(t *testing.T) {
	const queued = `{"clinic_id":"cln_1","delivery_id":"whd_1"}`
	task, err := tasks.NewEventDeliveryTask("cln_1", "whd_1")
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != "event:deliver" || string(task.Payload()) != queued {
		t.Fatalf("task %s %s, want event:deliver %s", task.Type(), task.Payload(), queued)
	}
	p, err := tasks.ParseEventDeliveryPayload([]byte(queued))
	if err != nil || p != (tasks.EventDeliveryPayload{ClinicID: "cln_1", DeliveryID: "whd_1"}) {
		t.Fatalf("parsed %+v, %v", p, err)
	}
	if _, err := tasks.ParseEventDeliveryPayload([]byte(`{"delivery_id":"whd_1"}`)); !errors.Is(err, tasks.ErrNoClinic) {
		t.Fatalf("payload without a clinic: %v, want ErrNoClinic", err)
	}
}

func TestEventRetryDelay(t *testing.T) {
	var total time.Duration
	prev := time.Duration(0)
	for n := range tasks.EventMaxAttempts - 1 {
		d := tasks.EventRetryDelay(n, "whd_1")
		base := tasks.EventRetryCap
		if n < 20 {
			base = min(tasks.EventRetryFirst<<n, tasks.EventRetryCap)
		}
		if d < base || d > base+base/10 {
			t.Fatalf("retry %d: %v, want within a tenth above %v", n, d, base)
		}
		if base < tasks.EventRetryCap && d <= prev {
			t.Fatalf("retry %d: %v is not longer than the one before (%v)", n, d, prev)
		}
		if d != tasks.EventRetryDelay(n, "whd_1") {
			t.Fatalf("retry %d: not the same delay twice", n)
		}
		prev = d
		total += d
	}
	if total < 24*time.Hour {
		t.Fatalf("%d attempts span %v, want at least a day", tasks.EventMaxAttempts, total)
	}
	if total > 48*time.Hour {
		t.Fatalf("%d attempts span %v, want well under two days", tasks.EventMaxAttempts, total)
	}
	// asynq's view (from the task) is the worker's.
	task, _ := tasks.NewEventDeliveryTask("cln_1", "whd_1")
	for n := range 12 {
		if got, want := tasks.EventTaskRetryDelay(n, task), tasks.EventRetryDelay(n, "whd_1"); got != want {
			t.Fatalf("retry %d: task delay %v, want %v", n, got, want)
		}
	}
	// Jitter differs between deliveries (they do not retry in lockstep).
	same := 0
	for n := range 10 {
		if tasks.EventRetryDelay(n, "whd_1") == tasks.EventRetryDelay(n, "whd_2") {
			same++
		}
	}
	if same == 10 {
		t.Fatal("two deliveries retry at exactly the same delays")
	}
}
