package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// TypeInterpret is the asynq task type that interprets an inbound message
// (a patient's SMS reply): the inbound webhook enqueues it once the message
// is stored, the pump again while the message is not yet interpreted, and
// the worker records the interpretation (and its effects) once.
const TypeInterpret = "inbound:interpret"

// InterpretTaskRetention is how long asynq keeps an interpret task once
// done: a message enqueued again within it (a webhook retry, the pump) is
// refused by its TaskID.
const InterpretTaskRetention = StatusTaskRetention

// InterpretPayload names an inbound message: its clinic ("" for a message
// no clinic owns) and its id. No address, no body.
type InterpretPayload struct {
	ClinicID  string `json:"clinic_id"`
	MessageID string `json:"message_id"`
	// Lane is InterpretLane of the message's clinic and sender: the worker
	// interprets one lane's messages one batch at a time, so that two
	// replies from one number are read in order. 0 when the sender is not
	// known (older tasks too).
	Lane int `json:"lane,omitempty"`
}

// InterpretLanes is how many lanes the senders of inbound messages are
// spread over (the worker folds them onto its own, fewer, lanes).
const InterpretLanes = 64

// InterpretLane is the lane of a clinic's sender: a small number that
// keeps one number's messages together without naming the number.
func InterpretLane(clinicID, from string) int {
	if from == "" {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(clinicID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(from))
	return int(h.Sum32() % InterpretLanes)
}

// NewInterpretTask builds the task of the clinic's inbound message from
// the sender from (for its lane; may be empty), with its TaskID
// (InterpretTaskID) and retention.
func NewInterpretTask(clinicID, messageID, from string) (*asynq.Task, []asynq.Option, error) {
	b, err := json.Marshal(InterpretPayload{ClinicID: clinicID, MessageID: messageID, Lane: InterpretLane(clinicID, from)})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal interpret payload: %w", err)
	}
	return asynq.NewTask(TypeInterpret, b), []asynq.Option{
		asynq.TaskID(InterpretTaskID(clinicID, messageID)),
		asynq.Retention(InterpretTaskRetention),
	}, nil
}

// ParseInterpretPayload decodes a TypeInterpret task's payload; the message
// id is required, the clinic is not (a message no clinic owns is kept too).
func ParseInterpretPayload(b []byte) (InterpretPayload, error) {
	var p InterpretPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("decode interpret payload: %w", err)
	}
	if p.MessageID == "" {
		return p, errors.New("interpret payload: no message_id")
	}
	if p.Lane < 0 || p.Lane >= InterpretLanes {
		p.Lane = 0
	}
	return p, nil
}

// InterpretTaskID is the TaskID of the message's interpret task: the
// message id, with its clinic (and the clinic's length, so that no two
// clinics' ids meet).
func InterpretTaskID(clinicID, messageID string) string {
	return "interpret:" + strconv.Itoa(len(clinicID)) + ":" + clinicID + ":" + messageID
}

// sendProcessEarly: see DeliverOptions.
const sendProcessEarly = time.Millisecond

// DeliverOptions are the options under which a planned send is handed to
// asynq (the pump's, and a caller's that enqueues a send right after
// planning it): TaskID the send id, processed a millisecond before it is
// due (asynq files a task under its whole second; the worker holds an early
// one to its time).
func DeliverOptions(sendID string, due time.Time, queue string, maxRetry int) []asynq.Option {
	return []asynq.Option{
		asynq.TaskID(sendID),
		asynq.ProcessAt(due.Add(-sendProcessEarly)),
		asynq.Queue(queue),
		asynq.MaxRetry(maxRetry),
	}
}
