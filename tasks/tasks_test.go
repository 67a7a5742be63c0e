package tasks_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/tasks"
)

// The payloads are what sits in Redis: the bytes below are what the previous
// version queued, and they must be built and parsed unchanged.

func TestDeliverPayloadBytes(t *testing.T) {
	const queued = `{"clinic_id":"cln_1","send_id":"snd_1"}`
	task, err := tasks.NewDeliverTask("cln_1", "snd_1")
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != "send:deliver" || string(task.Payload()) != queued {
		t.Fatalf("task %s %s, want send:deliver %s", task.Type(), task.Payload(), queued)
	}
	p, err := tasks.ParseDeliverPayload([]byte(queued))
	if err != nil || p != (tasks.DeliverPayload{ClinicID: "cln_1", SendID: "snd_1"}) {
		t.Fatalf("parsed %+v, %v", p, err)
	}
	p, err = tasks.ParseDeliverPayload([]byte(`{"send_id":"snd_1"}`))
	if !errors.Is(err, tasks.ErrNoClinic) || p.SendID != "snd_1" {
		t.Fatalf("payload without a clinic: %+v, %v; want ErrNoClinic with the send id", p, err)
	}
	for _, bad := range []string{`{"clinic_id":"cln_1"}`, `not json`} {
		if _, err := tasks.ParseDeliverPayload([]byte(bad)); err == nil || errors.Is(err, tasks.ErrNoClinic) {
			t.Errorf("%s: %v, want a bad payload", bad, err)
		}
	}
}

func TestWritebackPayloadBytes(t *testing.T) {
	const queued = `{"clinic_id":"cln_1","writeback_id":"wb_1"}`
	task, err := tasks.NewWritebackTask("cln_1", "wb_1")
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != "ehr:writeback" || string(task.Payload()) != queued {
		t.Fatalf("task %s %s, want ehr:writeback %s", task.Type(), task.Payload(), queued)
	}
	p, err := tasks.ParseWritebackPayload([]byte(queued))
	if err != nil || p != (tasks.WritebackPayload{ClinicID: "cln_1", WritebackID: "wb_1"}) {
		t.Fatalf("parsed %+v, %v", p, err)
	}
	p, err = tasks.ParseWritebackPayload([]byte(`{"writeback_id":"wb_1"}`))
	if !errors.Is(err, tasks.ErrNoClinic) || p.WritebackID != "wb_1" {
		t.Fatalf("payload without a clinic: %+v, %v; want ErrNoClinic with the write-back id", p, err)
	}
	for _, bad := range []string{`{"clinic_id":"cln_1"}`, `not json`} {
		if _, err := tasks.ParseWritebackPayload([]byte(bad)); err == nil || errors.Is(err, tasks.ErrNoClinic) {
			t.Errorf("%s: %v, want a bad payload", bad, err)
		}
	}
}

func TestStatusPayloadBytes(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, c := range []struct {
		p      tasks.StatusPayload
		queued string
	}{{
		p: tasks.StatusPayload{Provider: tasks.ProviderTwilio, ClinicID: "cln_1", ViaInstallation: true,
			Key: "SM1:undelivered", ProviderID: "SM1", SendID: "snd_1", Event: "undelivered", ErrorCode: "30005", At: at},
		queued: `{"provider":"twilio","clinic_id":"cln_1","via_installation":true,"key":"SM1:undelivered",` +
			`"provider_id":"SM1","send_id":"snd_1","event":"undelivered","error_code":"30005","at":"2026-03-04T05:06:07Z"}`,
	}, {
		p:      tasks.StatusPayload{Provider: tasks.ProviderSendGrid, ClinicID: "cln_1", Key: "ev1", Event: "delivered", At: at},
		queued: `{"provider":"sendgrid","clinic_id":"cln_1","key":"ev1","event":"delivered","at":"2026-03-04T05:06:07Z"}`,
	}} {
		task, err := tasks.NewStatusTask(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if task.Type() != "provider:status" || string(task.Payload()) != c.queued {
			t.Fatalf("task %s %s, want provider:status %s", task.Type(), task.Payload(), c.queued)
		}
		p, err := tasks.ParseStatusPayload([]byte(c.queued))
		if err != nil || p != c.p {
			t.Fatalf("parsed %+v, %v; want %+v", p, err, c.p)
		}
	}
	for _, bad := range []string{`{"provider":"twilio","key":"k"}`, `{"provider":"twilio","clinic_id":"c"}`,
		`{"key":"k","clinic_id":"c"}`, `not json`} {
		if _, err := tasks.ParseStatusPayload([]byte(bad)); err == nil {
			t.Errorf("%s parsed, want an error", bad)
		}
	}
}

func TestStatusTaskID(t *testing.T) {
	p := tasks.StatusPayload{Provider: "twilio", ClinicID: "cln_1", Key: "SM1:sent"}
	if got, want := p.TaskID(), "status:twilio:5:cln_1:SM1:sent"; got != want || tasks.StatusTaskID("twilio", "cln_1", "SM1:sent") != want {
		t.Fatalf("TaskID %q, want %q", got, want)
	}
	// The clinic's length keeps two clinics' ids apart when ids meet at a colon.
	if tasks.StatusTaskID("twilio", "a:b", "c") == tasks.StatusTaskID("twilio", "a", "b:c") {
		t.Fatal("two clinics' statuses share a TaskID")
	}
}
