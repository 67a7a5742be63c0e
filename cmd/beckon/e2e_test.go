package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

const (
	phone = "+14155550123"
	email = "ana.lopez@example.com"
)

// TestEndToEnd is the core story: a campaign with steps seconds apart, an
// appointment, each message in the outbox within a second of its due time,
// then a reschedule and a cancellation.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
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

			// Book: three sends planned, delivered on time, rendered.
			start := time.Now().Add(25 * time.Second).Truncate(time.Second)
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
			e := a.waitDelivered(first)
			if want := "Hi Ana, first reminder for checkup at Story Clinic."; e.Body != want || e.Channel != "sms" || e.To != phone {
				t.Fatalf("first message = %+v, want body %q to %s by sms", e, want, phone)
			}
			second := a.waitDelivered(appt.send("second", 1))
			if second.Subject != "Your checkup" || second.Body != "Hi Ana, second reminder." || second.To != email {
				t.Fatalf("second message = %+v", second)
			}

			// Reschedule before the third goes: it is superseded, and the new
			// version's sends are delivered instead.
			start2 := time.Now().Add(25 * time.Second).Truncate(time.Second)
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
			// Wait until the superseded sends' tasks have run (or never were
			// enqueued) and their due times have passed.
			a.waitTasksGone(oldThird.ID, moved.send("second", 2).ID, third2.ID)
			waitFor(t, time.Minute, "due time of the last cancelled send", func() bool {
				return time.Now().After(third2.DueAt.Add(500 * time.Millisecond))
			})
			a.waitTasksGone(oldThird.ID, moved.send("second", 2).ID, third2.ID)
			entries := a.outbox()
			if len(entries) != 3 {
				t.Fatalf("outbox has %d messages, want 3 (first, second, first after reschedule): %+v", len(entries), entries)
			}
			for _, id := range []string{oldThird.ID, moved.send("second", 2).ID, third2.ID} {
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
	waitFor(a.t, time.Until(s.DueAt)+10*time.Second, "delivery of "+s.StepID, func() bool {
		var ok bool
		e, ok = entryFor(a.outbox(), s.ID)
		return ok
	})
	if early := s.DueAt.Sub(e.CreatedAt); early > 0 {
		a.t.Errorf("send %s delivered %s before its due time", s.StepID, early)
	}
	return e
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

// TestRedisFlushLosesNothing flushes Redis while sends are pending: the pump
// restores them from the store and each is delivered once.
func TestRedisFlushLosesNothing(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
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
			start := time.Now().Add(26 * time.Second)
			var appt appointmentView
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/x", map[string]any{
				"patient_id": "p", "start": rfc(start),
			}, &appt)
			insp := asynq.NewInspectorFromRedisClient(a.m.App.Redis())
			waitFor(t, 10*time.Second, "the pump to enqueue both sends", func() bool {
				for _, s := range appt.Sends {
					if _, err := insp.GetTaskInfo(a.queue, s.ID); err != nil {
						return false
					}
				}
				return true
			})
			a.flushRedis()
			for _, s := range appt.Sends {
				if _, err := insp.GetTaskInfo(a.queue, s.ID); err == nil {
					t.Fatalf("task %s survived the flush", s.ID)
				}
			}
			waitFor(t, 30*time.Second, "both sends delivered after the flush", func() bool {
				return len(a.outbox()) == 2
			})
			for _, s := range appt.Sends {
				if _, ok := entryFor(a.outbox(), s.ID); !ok {
					t.Fatalf("send %s lost", s.ID)
				}
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
