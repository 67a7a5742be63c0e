package tasks_test

import (
	"testing"

	"github.com/beckonhealth/beckon/tasks"
)

func TestInterpretPayloadBytes(t *testing.T) {
	const queued = `{"clinic_id":"cln_1","message_id":"msg_1"}`
	task, opts, err := tasks.NewInterpretTask("cln_1", "msg_1", "")
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != "inbound:interpret" || string(task.Payload()) != queued || len(opts) != 2 {
		t.Fatalf("task %s %s (%d options), want inbound:interpret %s with id and retention", task.Type(), task.Payload(), len(opts), queued)
	}
	p, err := tasks.ParseInterpretPayload([]byte(queued))
	if err != nil || p != (tasks.InterpretPayload{ClinicID: "cln_1", MessageID: "msg_1"}) {
		t.Fatalf("parsed %+v, %v", p, err)
	}
	// A message no clinic owns is interpreted too; one without an id is not.
	if p, err := tasks.ParseInterpretPayload([]byte(`{"message_id":"msg_2"}`)); err != nil || p.ClinicID != "" {
		t.Fatalf("payload without a clinic: %+v, %v", p, err)
	}
	if _, err := tasks.ParseInterpretPayload([]byte(`{"clinic_id":"cln_1"}`)); err == nil {
		t.Fatal("a payload without a message id parsed")
	}
	// Task ids of two clinics never meet.
	if tasks.InterpretTaskID("a:1", "b") == tasks.InterpretTaskID("a", "1:b") {
		t.Fatal("two clinics' messages share a task id")
	}
}

// A sender's messages share a lane, carried in the payload without the
// number; a lane out of range reads as 0.
func TestInterpretLane(t *testing.T) {
	a, b := tasks.InterpretLane("cln_1", "+14155550123"), tasks.InterpretLane("cln_1", "+14155550123")
	if a != b || a < 0 || a >= tasks.InterpretLanes {
		t.Fatalf("lanes %d and %d of one sender", a, b)
	}
	task, _, err := tasks.NewInterpretTask("cln_1", "msg_1", "+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	p, err := tasks.ParseInterpretPayload(task.Payload())
	if err != nil || p.Lane != a {
		t.Fatalf("payload %s parsed as %+v, %v; want lane %d", task.Payload(), p, err, a)
	}
	if p, err := tasks.ParseInterpretPayload([]byte(`{"message_id":"m","lane":999}`)); err != nil || p.Lane != 0 {
		t.Fatalf("out-of-range lane parsed as %+v, %v", p, err)
	}
}
