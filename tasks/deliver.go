package tasks

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
)

// TypeDeliver is the asynq task type that delivers one planned send. Its
// TaskID is the send id.
const TypeDeliver = "send:deliver"

// DeliverPayload is the body of a TypeDeliver task: only the send's clinic and
// id; the store holds everything else, so the task never carries PHI. The
// worker claims the send within that clinic only.
type DeliverPayload struct {
	ClinicID string `json:"clinic_id"`
	SendID   string `json:"send_id"`
}

// NewDeliverTask builds the task for the clinic's send.
func NewDeliverTask(clinicID, sendID string) (*asynq.Task, error) {
	b, err := json.Marshal(DeliverPayload{ClinicID: clinicID, SendID: sendID})
	if err != nil {
		return nil, fmt.Errorf("marshal deliver payload: %w", err)
	}
	return asynq.NewTask(TypeDeliver, b), nil
}

// ParseDeliverPayload decodes a TypeDeliver task's payload. A payload without
// its clinic is ErrNoClinic (with the send id it holds).
func ParseDeliverPayload(b []byte) (DeliverPayload, error) {
	var p DeliverPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("decode deliver payload: %w", err)
	}
	if p.SendID == "" {
		return p, fmt.Errorf("deliver payload: no send_id")
	}
	if p.ClinicID == "" {
		return p, fmt.Errorf("deliver payload: %w", ErrNoClinic)
	}
	return p, nil
}
