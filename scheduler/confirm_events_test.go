package scheduler_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
)

// Each recorded answer is an event of its type, recorded with it and
// delivered to the endpoints subscribed to it; a failed confirmation
// records none.
func TestConfirmationEvents(t *testing.T) {
	t.Parallel()
	b := feedSetup(t)
	b.apply(t, scheduler.FeedEvent{
		Appointment: beckon.Appointment{ID: "A-1", Start: b.now.Add(72 * time.Hour), Duration: 30 * time.Minute, Status: beckon.StatusBooked},
		Patient:     beckon.Patient{ID: "MRN-1", FirstName: "Ana", Phone: "+14155550123"},
		SourceAt:    b.now,
		Digest:      "s1",
	}, beckon.FeedApplied)
	for _, e := range []beckon.WebhookEndpoint{
		{ClinicID: b.clin.ID, ID: "all", URL: "https://ehr.example/all", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true},
		{ClinicID: b.clin.ID, ID: "cancels", URL: "https://ehr.example/c", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true,
			EventTypes: []string{beckon.EventAppointmentCancelRequested}},
	} {
		if _, err := b.st.WebhookEndpointPut(b.ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	for _, resp := range []string{beckon.ResponseConfirmed, beckon.ResponseRescheduleRequested, beckon.ResponseCancelRequested} {
		res, err := b.svc.Confirm(b.ctx, beckon.Confirmation{ClinicID: b.clin.ID, AppointmentID: "A-1", Response: resp,
			By: "patient", Method: "sms", Note: "free text stays out", Actor: "key:k"})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := b.st.EventGet(b.ctx, b.clin.ID, beckon.EventID(b.clin.ID, "confirmation", res.Confirmation.ID))
		if err != nil {
			t.Fatalf("%s: no event: %v", resp, err)
		}
		types = append(types, ev.Type)
		var data map[string]any
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data["appointment_id"] != "A-1" || data["confirmation_id"] != res.Confirmation.ID || data["response"] != resp ||
			data["method"] != "sms" || data["note"] != nil || !ev.At.Equal(b.now) {
			t.Fatalf("%s event: %+v %s", resp, ev, ev.Data)
		}
	}
	want := []string{beckon.EventAppointmentConfirmed, beckon.EventAppointmentRescheduleRequested, beckon.EventAppointmentCancelRequested}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("event types %v, want %v", types, want)
		}
	}
	count := func(endpoint string) int {
		ds, err := b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clin.ID, EndpointID: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if count("all") != 3 || count("cancels") != 1 {
		t.Fatalf("deliveries: all %d (want 3), cancels %d (want 1)", count("all"), count("cancels"))
	}
	if _, err := b.svc.Confirm(b.ctx, beckon.Confirmation{ClinicID: b.clin.ID, AppointmentID: "nope", Response: beckon.ResponseConfirmed}); err == nil {
		t.Fatal("confirmed an unknown appointment")
	}
	if count("all") != 3 {
		t.Fatalf("a failed confirmation made a delivery (%d)", count("all"))
	}
}
