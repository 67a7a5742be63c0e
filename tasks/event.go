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

// TypeEventDelivery is the asynq task type that POSTs one event to one of a
// clinic's webhook endpoints; its TaskID is the delivery id.
const TypeEventDelivery = "event:deliver"

// EventDeliveryPayload is the body of a TypeEventDelivery task: the
// delivery's clinic and id only.
type EventDeliveryPayload struct {
	ClinicID   string `json:"clinic_id"`
	DeliveryID string `json:"delivery_id"`
}

// Event delivery retries: the delay before retry n (0 for the first retry)
// starts at EventRetryFirst and doubles up to EventRetryCap, with up to a
// tenth more as jitter; EventMaxAttempts attempts span more than a day.
const (
	EventRetryFirst  = 10 * time.Second
	EventRetryCap    = time.Hour
	EventMaxAttempts = 40
)

// NewEventDeliveryTask builds the task of the clinic's delivery.
func NewEventDeliveryTask(clinicID, deliveryID string) (*asynq.Task, error) {
	b, err := json.Marshal(EventDeliveryPayload{ClinicID: clinicID, DeliveryID: deliveryID})
	if err != nil {
		return nil, fmt.Errorf("marshal event delivery payload: %w", err)
	}
	return asynq.NewTask(TypeEventDelivery, b), nil
}

// ParseEventDeliveryPayload decodes a TypeEventDelivery task's payload.
func ParseEventDeliveryPayload(b []byte) (EventDeliveryPayload, error) {
	var p EventDeliveryPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("decode event delivery payload: %w", err)
	}
	if p.DeliveryID == "" {
		return p, errors.New("event delivery payload: no delivery_id")
	}
	if p.ClinicID == "" {
		return p, fmt.Errorf("event delivery payload: %w", ErrNoClinic)
	}
	return p, nil
}

// EventRetryDelay is the delay after the failed attempt n+1 of a delivery
// (n retries done before it): exponential, capped, with a jitter drawn from
// the delivery id and n so that the worker that records the next attempt's
// time and asynq that schedules it agree.
func EventRetryDelay(n int, deliveryID string) time.Duration {
	d := EventRetryCap
	if n < 20 {
		d = min(EventRetryFirst<<n, EventRetryCap)
	}
	h := fnv.New64a()
	h.Write([]byte(deliveryID + "#" + strconv.Itoa(n)))
	// Whole milliseconds, as the store keeps times.
	jitter := time.Duration(h.Sum64()%uint64(d/10/time.Millisecond+1)) * time.Millisecond
	return d + jitter
}

// EventTaskRetryDelay is EventRetryDelay for asynq's RetryDelayFunc: the
// task's delivery id is read from its payload.
func EventTaskRetryDelay(n int, t *asynq.Task) time.Duration {
	p, _ := ParseEventDeliveryPayload(t.Payload())
	return EventRetryDelay(n, p.DeliveryID)
}
