package worker

import (
	"encoding/json"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// messageStatusEvent is the clinic's event of a status that moved a
// message to delivered, or to failed or undelivered: ids, the channel, the
// status and the provider's error code; never the body or the address. Its
// id derives from the message and the type: one of each per message.
func messageStatusEvent(msg beckon.Message, p tasks.StatusPayload, eff effect, at time.Time) (beckon.Event, bool) {
	var typ string
	switch eff.status {
	case beckon.MessageDelivered:
		typ = beckon.EventMessageDelivered
	case beckon.MessageFailed, beckon.MessageUndelivered:
		typ = beckon.EventMessageFailed
	default:
		return beckon.Event{}, false
	}
	data, _ := json.Marshal(map[string]any{
		"message_id":     msg.ID,
		"send_id":        msg.SendID,
		"appointment_id": msg.AppointmentID,
		"patient_id":     msg.PatientID,
		"channel":        msg.Channel,
		"status":         eff.status,
		"provider":       p.Provider,
		"provider_event": p.Event,
		"error_code":     p.ErrorCode,
		"at":             at.UTC().Format(time.RFC3339Nano),
	})
	return beckon.Event{
		ID: beckon.EventID(msg.ClinicID, "message", msg.ID, typ), ClinicID: msg.ClinicID, Type: typ, Data: data, At: at,
	}, true
}
