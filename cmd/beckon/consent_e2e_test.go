package main

import (
	"net/http"
	"testing"
	"time"
)

type consentView struct {
	SMS     string `json:"sms"`
	Email   string `json:"email"`
	History []struct {
		Channel string    `json:"channel"`
		State   string    `json:"state"`
		How     string    `json:"how"`
		Text    string    `json:"text"`
		By      string    `json:"by"`
		At      time.Time `json:"at"`
	} `json:"history"`
}

// TestConsentEndToEnd: staff record an opt-out obtained in person; the next
// due reminder is skipped with the reason and nothing reaches the patient;
// the ledger shows the change; an opt-in restores SMS.
func TestConsentEndToEnd(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppClock(t, backend, nil)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
				"name": "Consent Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
			}, nil)
			text := map[string]any{"en": map[string]any{"text": "Hi {{.Patient.FirstName}}, see you soon."}}
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/remind", map[string]any{
				"name": "Remind",
				"steps": []map[string]any{
					{"id": "early", "offset": "-20s", "channel": "sms", "content": text},
					{"id": "late", "offset": "-10s", "channel": "sms", "content": text},
				},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/pat-1", map[string]any{
				"first_name": "Ana", "phone": phone,
			}, nil)
			start := a.now().Add(30 * time.Second).Truncate(time.Second)
			var appt appointmentView
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/apt-1", map[string]any{
				"patient_id": "pat-1", "start": rfc(start), "type": "checkup",
			}, &appt)

			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/patients/pat-1/consent", map[string]any{
				"channel": "sms", "state": "opted_out", "by": "staff:front-desk", "text": "STOP",
			}, nil)
			early := appt.send("early", 1)
			a.advanceTo(early.DueAt)
			var got sendView
			waitFor(t, 30*time.Second, "the early reminder to be skipped", func() bool {
				var v appointmentView
				a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/apt-1", nil, &v)
				got = v.send("early", 1)
				return got.Status != "planned" && got.Status != "claimed"
			})
			if got.Status != "skipped" || got.Reason != "patient opted out of sms" {
				t.Fatalf("early reminder %s (%q), want skipped because the patient opted out of sms", got.Status, got.Reason)
			}
			if n := len(a.outbox()); n != 0 {
				t.Fatalf("outbox has %d messages after the opt-out", n)
			}
			var c consentView
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/pat-1/consent", nil, &c)
			if c.SMS != "opted_out" || len(c.History) != 1 || c.History[0].How != "staff" ||
				c.History[0].Text != "STOP" || c.History[0].By != "staff:front-desk" {
				t.Fatalf("consent after the opt-out %+v", c)
			}

			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/patients/pat-1/consent", map[string]any{
				"channel": "sms", "state": "opted_in", "by": "staff:front-desk",
			}, nil)
			late := appt.send("late", 1)
			a.advanceTo(late.DueAt)
			if e := a.waitDelivered(late); e.Channel != "sms" || e.To != phone {
				t.Fatalf("late reminder %+v, want by sms to the patient", e)
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/pat-1/consent", nil, &c)
			if c.SMS != "opted_in" || len(c.History) != 2 || c.History[1].State != "opted_in" {
				t.Fatalf("consent after the opt-in %+v", c)
			}
			assertNoPHI(t, a.logs.String(), phone, "Ana", "see you soon", "STOP")
		})
	}
}
