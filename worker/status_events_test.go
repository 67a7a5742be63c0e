package worker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// A status that moves a message to delivered, or to failed, is an event
// (once per message and type) with ids, channel, status and error code,
// never the number or the body; a status that moves nothing is none.
func TestStatusEvents(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)
	ctx := context.Background()
	if _, err := sb.st.WebhookEndpointPut(ctx, beckon.WebhookEndpoint{
		ClinicID: sb.clinic.ID, ID: "ehr", URL: "https://ehr.example/x", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true,
	}); err != nil {
		t.Fatal(err)
	}
	sb.status(t, "SM:sent", "sent", "")
	sb.status(t, "SM:delivered", "delivered", "")
	sb.status(t, "SM:delivered-again", "delivered", "") // moves nothing
	sb.status(t, "SM:failed", "failed", "30008")        // after delivered: moves nothing either

	ds, err := sb.st.WebhookDeliveryList(ctx, beckon.WebhookDeliveryListParams{ClinicID: sb.clinic.ID, EndpointID: "ehr"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].EventType != beckon.EventMessageDelivered {
		t.Fatalf("deliveries %+v, want one message.delivered", ds)
	}
	ev, err := sb.st.EventGet(ctx, sb.clinic.ID, ds[0].EventID)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data["message_id"] != sb.msg.ID || data["send_id"] != sb.send.ID || data["appointment_id"] != sb.msg.AppointmentID ||
		data["channel"] != string(beckon.ChannelSMS) || data["status"] != beckon.MessageDelivered {
		t.Fatalf("event data %s", ev.Data)
	}
	for _, secret := range []string{sb.patient.Phone, sb.msg.To, sb.msg.Body} {
		if secret != "" && strings.Contains(string(ev.Data), secret) {
			t.Fatalf("event data %s holds the number or the body", ev.Data)
		}
	}
}

func TestStatusFailedEvent(t *testing.T) {
	t.Parallel()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)
	ctx := context.Background()
	sb.status(t, "SM:undelivered", "undelivered", "30003")
	ev, err := sb.st.EventGet(ctx, sb.clinic.ID, beckon.EventID(sb.clinic.ID, "message", sb.msg.ID, beckon.EventMessageFailed))
	if err != nil {
		t.Fatalf("no message.failed event: %v", err)
	}
	var data map[string]any
	_ = json.Unmarshal(ev.Data, &data)
	if ev.Type != beckon.EventMessageFailed || data["error_code"] != "30003" || data["status"] != beckon.MessageUndelivered {
		t.Fatalf("event %+v %s", ev, ev.Data)
	}
}
