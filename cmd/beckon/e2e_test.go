package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/tasks"
)

const (
	phone = "+14155550123"
	email = "ana.lopez@example.com"
)

// TestEndToEnd is the core story: a campaign with steps seconds apart, an
// appointment, each message in the outbox once its due time comes and not
// before, then a reschedule and a cancellation. The test moves the app's
// clock from one due time to the next.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppClock(t, backend, nil)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
				"name": "Story Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/story", map[string]any{
				"name": "Story",
				"steps": []map[string]any{
					{"id": "first", "offset": "-21s", "channel": "sms", "content": map[string]any{
						"en": map[string]any{"text": "Hi {{.Patient.FirstName}}, first reminder for {{.Appointment.Type}} at {{.Clinic.Name}}."},
					}},
					{"id": "second", "offset": "-18s", "channel": "email", "content": map[string]any{
						"en": map[string]any{"subject": "Your {{.Appointment.Type}}", "text": "Hi {{.Patient.FirstName}}, second reminder."},
					}},
					{"id": "third", "offset": "-12s", "channel": "sms", "only_if_unconfirmed": true, "template": "appointment_reminder_confirm"},
				},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/pat-1", map[string]any{
				"first_name": "Ana", "last_name": "Lopez", "phone": phone, "email": email, "time_zone": "America/Chicago",
			}, nil)

			// Book: three sends planned, delivered when due, rendered.
			start := a.now().Add(25 * time.Second).Truncate(time.Second)
			var appt appointmentView
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/apt-1", map[string]any{
				"patient_id": "pat-1", "start": rfc(start), "type": "checkup",
			}, &appt)
			if len(appt.Sends) != 3 {
				t.Fatalf("planned %d sends, want 3: %+v", len(appt.Sends), appt.Sends)
			}
			for _, s := range appt.Sends {
				if s.Status != "planned" {
					t.Fatalf("send %s is %s (%s), want planned", s.StepID, s.Status, s.Reason)
				}
			}
			first := appt.send("first", 1)
			if want := start.Add(-21 * time.Second); !first.DueAt.Equal(want) {
				t.Fatalf("first due %s, want %s", first.DueAt, want)
			}
			// Half a second before its due time the pump hands it to asynq
			// (it is within the horizon), and the worker holds it back.
			a.advanceTo(first.DueAt.Add(-500 * time.Millisecond))
			a.waitLog("the first send held back before its due time", "send snoozed", first.ID, "not due yet")
			// The snoozed task is still in asynq until its handler returns: a
			// pump pass before then finds its TaskID taken, records the send
			// as handed, and looks again only after the recheck interval of
			// the clock, which this test does not move. Wait until it is gone.
			a.waitTasksGone(first.ID)
			if n := len(a.outbox()); n != 0 {
				t.Fatalf("outbox has %d messages before the first was due", n)
			}
			a.advanceTo(first.DueAt)
			e := a.waitDelivered(first)
			if want := "Hi Ana, first reminder for checkup at Story Clinic."; e.Body != want || e.Channel != "sms" || e.To != phone {
				t.Fatalf("first message = %+v, want body %q to %s by sms", e, want, phone)
			}
			a.advanceTo(appt.send("second", 1).DueAt)
			second := a.waitDelivered(appt.send("second", 1))
			if second.Subject != "Your checkup" || second.Body != "Hi Ana, second reminder." || second.To != email {
				t.Fatalf("second message = %+v", second)
			}

			// Reschedule before the third goes: it is superseded, and the new
			// version's sends are delivered instead.
			start2 := a.now().Add(25 * time.Second).Truncate(time.Second)
			var moved appointmentView
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/appointments/apt-1", map[string]any{
				"patient_id": "pat-1", "start": rfc(start2), "type": "checkup",
			}, &moved)
			if moved.Version != 2 {
				t.Fatalf("version after reschedule = %d, want 2", moved.Version)
			}
			oldThird := moved.send("third", 1)
			if oldThird.Status != "superseded" {
				t.Fatalf("old third send is %q, want superseded", oldThird.Status)
			}
			a.advanceTo(moved.send("first", 2).DueAt)
			a.waitDelivered(moved.send("first", 2))
			third2 := moved.send("third", 2)

			// Cancel: nothing further goes out.
			var cancelled appointmentView
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/appointments/apt-1", map[string]any{
				"patient_id": "pat-1", "start": rfc(start2), "type": "checkup", "status": "cancelled",
			}, &cancelled)
			for _, s := range cancelled.Sends {
				if s.Status == "planned" {
					t.Fatalf("send %s v%d still planned after cancellation", s.StepID, s.AppointmentVersion)
				}
			}
			// Past the due time of the last cancelled send, the pump hands
			// none of them to asynq; and a task of a superseded send that
			// asynq held from before the change (handed here by the test)
			// runs and sends nothing.
			gone := []string{oldThird.ID, moved.send("second", 2).ID, third2.ID}
			a.advanceTo(third2.DueAt.Add(500 * time.Millisecond))
			a.enqueueDeliver(cancelled.ID, oldThird.ID, third2.ID)
			a.waitTasksGone(gone...)
			a.advanceTo(start2.Add(time.Minute))
			a.waitTasksGone(gone...)
			entries := a.outbox()
			if len(entries) != 3 {
				t.Fatalf("outbox has %d messages, want 3 (first, second, first after reschedule): %+v", len(entries), entries)
			}
			for _, id := range gone {
				if _, ok := entryFor(entries, id); ok {
					t.Fatalf("send %s was delivered after it was superseded", id)
				}
			}

			// The message log has the same three, with their status history.
			var msgs struct {
				Messages []struct {
					SendID string `json:"send_id"`
					Status string `json:"status"`
				} `json:"messages"`
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/messages?appointment_id=apt-1", nil, &msgs)
			if len(msgs.Messages) != 3 {
				t.Fatalf("message log has %d messages, want 3", len(msgs.Messages))
			}
			assertNoPHI(t, a.logs.String(), phone, email, "Ana", "Lopez", "first reminder", "second reminder")
		})
	}
}

// waitDelivered waits for the send's outbox entry and checks it did not
// arrive before its due time. How late it came is the benchmark's to measure
// (beckon-bench, lateness), not a test's.
func (a *app) waitDelivered(s sendView) outboxEntry {
	a.t.Helper()
	if s.ID == "" {
		a.t.Fatal("no such send")
	}
	var e outboxEntry
	waitFor(a.t, max(s.DueAt.Sub(a.now()), 0)+20*time.Second, "delivery of "+s.StepID, func() bool {
		var ok bool
		e, ok = entryFor(a.outbox(), s.ID)
		return ok
	})
	if early := s.DueAt.Sub(e.CreatedAt); early > 0 {
		a.t.Errorf("send %s delivered %s before its due time", s.StepID, early)
	}
	return e
}

// enqueueDeliver hands asynq delivery tasks for the sends, as a pump would
// have before their appointment changed, each under a TaskID of its own.
func (a *app) enqueueDeliver(apptID string, sendIDs ...string) {
	a.t.Helper()
	client := asynq.NewClientFromRedisClient(a.m.App.Redis())
	for _, id := range sendIDs {
		task, err := tasks.NewDeliverTask(a.m.App.DemoClinicID, id)
		if err != nil {
			a.t.Fatal(err)
		}
		if _, err := client.Enqueue(task, asynq.Queue(a.queue), asynq.TaskID(id+":stale")); err != nil {
			a.t.Fatalf("enqueue a task for send %s of %s: %v", id, apptID, err)
		}
	}
	a.waitTasksGone(func() []string {
		var ids []string
		for _, id := range sendIDs {
			ids = append(ids, id+":stale")
		}
		return ids
	}()...)
}

// waitLog waits for a log line holding every one of parts.
func (a *app) waitLog(what string, parts ...string) {
	a.t.Helper()
	waitFor(a.t, 20*time.Second, what, func() bool {
		for _, line := range strings.Split(a.logs.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return true
			}
		}
		return false
	})
}

// waitTasksGone waits until asynq holds none of the sends' tasks.
func (a *app) waitTasksGone(ids ...string) {
	a.t.Helper()
	insp := asynq.NewInspectorFromRedisClient(a.m.App.Redis())
	waitFor(a.t, time.Minute, "tasks to finish", func() bool {
		for _, id := range ids {
			info, err := insp.GetTaskInfo(a.queue, id)
			if err == nil && info.State != asynq.TaskStateCompleted {
				return false
			}
		}
		return true
	})
}

// TestRedisFlushLosesNothing flushes Redis while sends are in it: the pump
// restores them from the store and each is delivered once. Delivery stops
// while the test hands the sends to asynq and flushes them, so that the flush
// finds them there.
func TestRedisFlushLosesNothing(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppClock(t, backend, nil)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
				"name": "Flush Clinic", "time_zone": "UTC", "quiet_hours": map[string]any{"enabled": false},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/c", map[string]any{
				"name": "C",
				"steps": []map[string]any{
					{"id": "a", "offset": "-20s", "channel": "sms", "template": "appointment_reminder"},
					{"id": "b", "offset": "-19s", "channel": "sms", "template": "appointment_reminder"},
				},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/p", map[string]any{
				"first_name": "Ben", "phone": "+14155550124",
			}, nil)
			start := a.now().Add(26 * time.Second)
			var appt appointmentView
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/x", map[string]any{
				"patient_id": "p", "start": rfc(start),
			}, &appt)
			if len(appt.Sends) != 2 {
				t.Fatalf("planned %d sends, want 2: %+v", len(appt.Sends), appt.Sends)
			}
			a.m.App.StopDelivery()
			a.advanceTo(start.Add(-19 * time.Second)) // both due: the pump hands both to asynq
			insp := asynq.NewInspectorFromRedisClient(a.m.App.Redis())
			for _, s := range appt.Sends {
				if _, err := insp.GetTaskInfo(a.queue, s.ID); err != nil {
					t.Fatalf("send %s not in asynq after a pump pass: %v", s.ID, err)
				}
			}
			a.flushRedis()
			for _, s := range appt.Sends {
				if _, err := insp.GetTaskInfo(a.queue, s.ID); err == nil {
					t.Fatalf("task %s survived the flush", s.ID)
				}
			}
			if err := a.m.App.StartDelivery(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Once the recheck has passed, the pump hands them again.
			a.advanceTo(a.now().Add(time.Second))
			waitFor(t, 30*time.Second, "both sends delivered after the flush", func() bool {
				return len(a.outbox()) == 2
			})
			for _, s := range appt.Sends {
				if _, ok := entryFor(a.outbox(), s.ID); !ok {
					t.Fatalf("send %s lost", s.ID)
				}
			}
			// And once only: more pump passes later, still two.
			a.advanceTo(a.now().Add(time.Minute))
			a.waitTasksGone(appt.Sends[0].ID, appt.Sends[1].ID)
			if n := len(a.outbox()); n != 2 {
				t.Fatalf("outbox has %d messages, want 2", n)
			}
		})
	}
}

// flushRedis drops what Redis holds: everything for the in-process Redis; the
// test's own queue on a shared server (other tests run there at the same time).
func (a *app) flushRedis() {
	a.t.Helper()
	ctx := context.Background()
	if a.m.App.EmbeddedRedis() != nil {
		a.m.App.EmbeddedRedis().FlushAll()
		return
	}
	keys, err := a.m.App.Redis().Keys(ctx, "asynq:{"+a.queue+"}*").Result()
	if err != nil {
		a.t.Fatal(err)
	}
	if len(keys) == 0 {
		a.t.Fatal("no keys for the queue: nothing to flush")
	}
	if err := a.m.App.Redis().Del(ctx, keys...).Err(); err != nil {
		a.t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, ":t:") {
			return
		}
	}
	a.t.Fatalf("flushed %d keys but none was a task", len(keys))
}
