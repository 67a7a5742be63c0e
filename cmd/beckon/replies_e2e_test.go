package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// replyStory is a clinic with a two-step campaign (a reminder that asks for
// confirmation, then one only for the unconfirmed), on the app's clock.
// Appointments start within 45 minutes of the test's start: the app's clock
// is an hour behind asynq's (startAppClock).
type replyStory struct {
	*app
	t *testing.T
}

func newReplyStory(t *testing.T, backend string) *replyStory {
	t.Helper()
	a := startAppClock(t, backend, nil)
	a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
		"name": "Reply Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
	}, nil)
	a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/replies", map[string]any{
		"name": "Replies",
		"steps": []map[string]any{
			{"id": "ask", "offset": "-30m", "channel": "sms", "template": "appointment_reminder_confirm"},
			{"id": "nudge", "offset": "-15m", "channel": "sms", "only_if_unconfirmed": true, "template": "appointment_reminder_confirm"},
		},
	}, nil)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(a.logs.String())
		}
	})
	return &replyStory{app: a, t: t}
}

func (s *replyStory) patient(id, first, phone, lang string) {
	s.t.Helper()
	s.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/"+id, map[string]any{
		"first_name": first, "last_name": "Test", "phone": phone, "language": lang,
	}, nil)
}

// book books an appointment starting at start and returns it.
func (s *replyStory) book(id, patientID string, start time.Time) appointmentView {
	s.t.Helper()
	var v appointmentView
	s.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/"+id, map[string]any{
		"patient_id": patientID, "start": rfc(start), "type": "checkup",
	}, &v)
	return v
}

// reply enters a patient's SMS through the outbox's inbound path and waits
// until the worker interpreted it; it returns the message's id and intent.
func (s *replyStory) reply(from, body string) (string, string) {
	s.t.Helper()
	var in struct {
		ID string `json:"id"`
	}
	s.mustCall(http.StatusAccepted, http.MethodPost, "/v1/outbox/replies", map[string]any{"from": from, "body": body}, &in)
	var intent string
	waitFor(s.t, 20*time.Second, "the reply "+in.ID+" interpreted", func() bool {
		var m struct {
			Inbound *struct {
				Interpreted bool   `json:"interpreted"`
				Intent      string `json:"intent"`
			} `json:"inbound"`
		}
		if s.call(http.MethodGet, "/v1/messages/"+in.ID, nil, &m) != http.StatusOK || m.Inbound == nil {
			return false
		}
		intent = m.Inbound.Intent
		return m.Inbound.Interpreted
	})
	return in.ID, intent
}

// answersTo waits until the outbox holds n messages to the number that are
// not campaign sends (the answers), and returns them oldest first.
func (s *replyStory) answersTo(phone string, n int, sends ...string) []outboxEntry {
	s.t.Helper()
	var got []outboxEntry
	waitFor(s.t, 20*time.Second, "answers in the outbox", func() bool {
		got = got[:0]
	next:
		for _, e := range s.outbox() {
			for _, id := range sends {
				if e.SendID == id {
					continue next
				}
			}
			if e.To == phone && e.Channel == "sms" {
				got = append(got, e)
			}
		}
		return len(got) >= n
	})
	if len(got) != n {
		s.t.Fatalf("%d answers to the number, want %d: %+v", len(got), n, got)
	}
	return got
}

func (s *replyStory) sendStatus(apptID, step string) (string, string) {
	s.t.Helper()
	v := s.appointment(apptID)
	if sd := v.send(step, v.Version); sd.ID != "" {
		return sd.Status, sd.Reason
	}
	s.t.Fatalf("appointment %s has no %s send in its version %d: %+v", apptID, step, v.Version, v)
	return "", ""
}

// TestReplyConfirms: a reminder goes out; the patient answers in their own
// words; the appointment is confirmed, the reminder for the unconfirmed is
// skipped, and the patient gets the confirmation answer once — in English
// and in Spanish.
func TestReplyConfirms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		lang, body, answer string
	}{
		{"en", "yes I'll be there", "Reply Clinic: Thank you, Ana. Your appointment on"},
		{"es", "sí, ahí estaré", "Reply Clinic: Gracias, Ana. Su cita del"},
	}
	for _, backend := range backends() {
		for _, c := range cases {
			t.Run(backend+"/"+c.lang, func(t *testing.T) {
				t.Parallel()
				s := newReplyStory(t, backend)
				const phone = "+14155550188"
				s.patient("p-ana", "Ana", phone, c.lang)
				start := s.now().Add(45 * time.Minute).Truncate(time.Minute)
				v := s.book("apt-ana", "p-ana", start)
				s.advanceTo(v.send("ask", 1).DueAt)
				s.waitDelivered(v.send("ask", 1))
				// The patient answers a minute later.
				s.advanceTo(v.send("ask", 1).DueAt.Add(time.Minute))
				_, intent := s.reply(phone, c.body)
				if intent != "confirm" {
					t.Fatalf("intent %q, want confirm", intent)
				}
				if got := s.appointment("apt-ana"); got.Confirmation != "confirmed" {
					t.Fatalf("appointment confirmation %q, want confirmed", got.Confirmation)
				}
				answers := s.answersTo(phone, 1, v.send("ask", 1).ID)
				if !strings.HasPrefix(answers[0].Body, c.answer) {
					t.Fatalf("answer %q, want it to start %q", answers[0].Body, c.answer)
				}
				s.advanceTo(v.send("nudge", 1).DueAt)
				waitFor(t, 20*time.Second, "the nudge settled", func() bool {
					st, _ := s.sendStatus("apt-ana", "nudge")
					return st != "planned" && st != "claimed"
				})
				if st, reason := s.sendStatus("apt-ana", "nudge"); st != "skipped" || !strings.Contains(reason, "confirmed") {
					t.Fatalf("nudge %s (%s), want skipped because confirmed", st, reason)
				}
				// Still one answer: nothing answered twice.
				s.answersTo(phone, 1, v.send("ask", 1).ID)
			})
		}
	}
}

// TestReplyWhichAppointment: one number, two patients with appointments the
// same day: a "C" is answered with the numbered question, and "2" confirms
// the second appointment only.
func TestReplyWhichAppointment(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newReplyStory(t, backend)
			const phone = "+14155550199"
			s.patient("p-ana", "Ana", phone, "en")
			s.patient("p-leo", "Leo", phone, "en")
			start := s.now().Add(45 * time.Minute).Truncate(time.Minute)
			ana := s.book("apt-ana", "p-ana", start)
			leo := s.book("apt-leo", "p-leo", start.Add(5*time.Minute))
			s.advanceTo(ana.send("ask", 1).DueAt)
			s.waitDelivered(ana.send("ask", 1))
			s.advanceTo(leo.send("ask", 1).DueAt)
			s.waitDelivered(leo.send("ask", 1))
			reminders := []string{ana.send("ask", 1).ID, leo.send("ask", 1).ID}
			s.advanceTo(leo.send("ask", 1).DueAt.Add(time.Minute))

			s.reply(phone, "C")
			q := s.answersTo(phone, 1, reminders...)[0]
			if !strings.Contains(q.Body, "1 for Ana") || !strings.Contains(q.Body, "2 for Leo") {
				t.Fatalf("the question %q does not offer Ana as 1 and Leo as 2", q.Body)
			}
			for _, id := range []string{"apt-ana", "apt-leo"} {
				if c := s.appointment(id).Confirmation; c == "confirmed" {
					t.Fatalf("%s confirmed before the patient chose", id)
				}
			}
			_, intent := s.reply(phone, "2")
			if intent != "choice" {
				t.Fatalf("intent of 2: %q, want choice", intent)
			}
			if c := s.appointment("apt-leo").Confirmation; c != "confirmed" {
				t.Fatalf("Leo's appointment %q, want confirmed", c)
			}
			if c := s.appointment("apt-ana").Confirmation; c == "confirmed" {
				t.Fatal("Ana's appointment was confirmed by Leo's choice")
			}
			if a := s.answersTo(phone, 2, reminders...)[1]; !strings.HasPrefix(a.Body, "Reply Clinic: Thank you, Leo.") {
				t.Fatalf("answer to the choice %q, want Leo's confirmation", a.Body)
			}
		})
	}
}

// TestReplyStop: STOP opts the number out with the single confirmation; the
// next reminder does not go by SMS; START restores it.
func TestReplyStop(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newReplyStory(t, backend)
			const phone = "+14155550166"
			s.patient("p-ana", "Ana", phone, "en")
			start := s.now().Add(45 * time.Minute).Truncate(time.Minute)
			v := s.book("apt-ana", "p-ana", start)
			s.advanceTo(v.send("ask", 1).DueAt)
			s.waitDelivered(v.send("ask", 1))
			s.advanceTo(v.send("ask", 1).DueAt.Add(time.Minute))
			s.reply(phone, "STOP")
			if a := s.answersTo(phone, 1, v.send("ask", 1).ID)[0]; !strings.Contains(a.Body, "You will receive no more messages from Reply Clinic") {
				t.Fatalf("opt-out confirmation %q", a.Body)
			}
			s.advanceTo(v.send("nudge", 1).DueAt)
			waitFor(t, 20*time.Second, "the nudge settled", func() bool {
				st, _ := s.sendStatus("apt-ana", "nudge")
				return st != "planned" && st != "claimed"
			})
			if st, reason := s.sendStatus("apt-ana", "nudge"); st != "skipped" {
				t.Fatalf("nudge after STOP: %s (%s), want skipped", st, reason)
			}
			var consent struct {
				SMS     string `json:"sms"`
				History []struct {
					State string `json:"state"`
					How   string `json:"how"`
					Text  string `json:"text"`
				} `json:"history"`
			}
			s.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/p-ana/consent", nil, &consent)
			if consent.SMS != "opted_out" || len(consent.History) != 1 || consent.History[0].Text != "STOP" || consent.History[0].How != "keyword" {
				t.Fatalf("consent after STOP: %+v", consent)
			}

			s.reply(phone, "START")
			s.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/p-ana/consent", nil, &consent)
			if consent.SMS != "opted_in" || len(consent.History) != 2 {
				t.Fatalf("consent after START: %+v", consent)
			}
			s.answersTo(phone, 2, v.send("ask", 1).ID)
		})
	}
}
