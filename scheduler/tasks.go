package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon/store"
)

// TypeDeliver is the asynq task type that delivers one planned send.
const TypeDeliver = "send:deliver"

// DefaultQueue is the asynq queue sends go through.
const DefaultQueue = "sends"

// DeliverPayload is the body of a TypeDeliver task: only the send's clinic and
// id; the store holds everything else, so the task never carries PHI. The
// worker claims the send within that clinic only.
type DeliverPayload struct {
	ClinicID string `json:"clinic_id"`
	SendID   string `json:"send_id"`
}

// ErrNoClinic: a task payload without its clinic (one queued before payloads
// carried it). It is dropped, not retried: the pump or the recheck enqueues
// the work again, with its clinic.
var ErrNoClinic = errors.New("task payload has no clinic_id")

// NewDeliverTask builds the task for a send.
func NewDeliverTask(s store.Send) (*asynq.Task, error) {
	b, err := json.Marshal(DeliverPayload{ClinicID: s.ClinicID, SendID: s.ID})
	if err != nil {
		return nil, fmt.Errorf("marshal deliver payload: %w", err)
	}
	return asynq.NewTask(TypeDeliver, b), nil
}

// ParseDeliverPayload decodes a TypeDeliver task's payload.
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
