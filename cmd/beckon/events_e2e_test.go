package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/webhooksig/webhooksigtest"
)

// A clinic registers an endpoint; a confirmation through the API reaches it
// as a signed appointment.confirmed event, whose signature a receiver
// written from the Standard Webhooks specification accepts. The receiver
// fails the first attempt: asynq retries it after the event retry delay,
// and the event is delivered once, with both attempts visible.
func TestEventsEndToEnd(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
			const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
			r := webhooksigtest.NewReceiver(t, secret, time.Now, func(n int) int {
				if n == 0 {
					return http.StatusServiceUnavailable
				}
				return http.StatusOK
			})
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/webhooks/ehr", map[string]any{
				"url": r.URL + "/beckon", "secret": secret, "event_types": []string{"appointment.confirmed"},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/pat-ev", map[string]any{
				"first_name": "Ana", "phone": "+14155550177",
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/apt-ev", map[string]any{
				"patient_id": "pat-ev", "start": rfc(time.Now().Add(72 * time.Hour).Truncate(time.Second)), "type": "checkup",
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/appointments/apt-ev/confirmation", map[string]any{
				"response": "confirmed", "by": "patient", "method": "phone",
			}, nil)

			type deliveries struct {
				Deliveries []struct {
					EventID   string `json:"event_id"`
					EventType string `json:"event_type"`
					Status    string `json:"status"`
					Attempts  []struct {
						StatusCode int    `json:"status_code"`
						Error      string `json:"error"`
					} `json:"attempts"`
				} `json:"deliveries"`
			}
			var ds deliveries
			waitFor(t, 60*time.Second, "the event delivered after one failed attempt", func() bool {
				a.mustCall(http.StatusOK, http.MethodGet, "/v1/webhooks/ehr/deliveries", nil, &ds)
				return len(ds.Deliveries) == 1 && ds.Deliveries[0].Status == beckon.DeliveryDelivered
			})
			d := ds.Deliveries[0]
			if d.EventType != beckon.EventAppointmentConfirmed || len(d.Attempts) != 2 ||
				d.Attempts[0].StatusCode != http.StatusServiceUnavailable || d.Attempts[0].Error == "" ||
				d.Attempts[1].StatusCode != http.StatusOK {
				t.Fatalf("delivery %+v, want appointment.confirmed delivered on the second attempt", d)
			}
			// Once delivered, a pump pass hands nothing again.
			if _, err := a.m.App.Pump().RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := r.Requests()
			if len(got) != 2 {
				t.Fatalf("the receiver got %d requests, want 2 (one failed, one accepted)", len(got))
			}
			// asynq keeps a retry's time in whole seconds: up to one early.
			if gap := got[1].At.Sub(got[0].At); gap < 9*time.Second {
				t.Fatalf("retried after %v, want the event retry delay (10 s, less asynq's second)", gap)
			}
			for i, q := range got {
				if q.Err != nil || q.ID != d.EventID {
					t.Fatalf("request %d: webhook-id %q, signature: %v", i, q.ID, q.Err)
				}
				var body struct {
					ID   string `json:"id"`
					Type string `json:"type"`
					Data struct {
						AppointmentID string `json:"appointment_id"`
						PatientID     string `json:"patient_id"`
						Response      string `json:"response"`
					} `json:"data"`
				}
				if err := json.Unmarshal(q.Body, &body); err != nil || body.ID != d.EventID || body.Type != beckon.EventAppointmentConfirmed ||
					body.Data.AppointmentID != "apt-ev" || body.Data.PatientID != "pat-ev" || body.Data.Response != "confirmed" {
					t.Fatalf("request %d body %s (%v)", i, q.Body, err)
				}
			}
			assertNoPHI(t, a.logs.String(), "+14155550177", secret)
		})
	}
}
