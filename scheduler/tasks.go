package scheduler

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
)

// TypeDeliver is the asynq task type that delivers one planned send.
const TypeDeliver = "send:deliver"

// DefaultQueue is the asynq queue sends go through.
const DefaultQueue = "sends"

// DeliverPayload is the body of a TypeDeliver task: only the send id; the store
// holds everything else, so the task never carries PHI.
type DeliverPayload struct {
	SendID string `json:"send_id"`
}

// NewDeliverTask builds the task for a send.
func NewDeliverTask(sendID string) (*asynq.Task, error) {
	b, err := json.Marshal(DeliverPayload{SendID: sendID})
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
	return p, nil
}
