package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// TypeStatus is the asynq task type of a provider's delivery status: the
// webhooks enqueue it once the callback is verified and stored in the status
// inbox, the pump again while the inbox holds it pending, and the worker
// applies it. Its payload is the inbox entry's.
const TypeStatus = "provider:status"

// StatusTaskRetention is how long asynq keeps a status task once done: a
// callback retried within it is refused by its TaskID, not applied again.
const StatusTaskRetention = time.Hour

// Providers of status callbacks (StatusPayload.Provider).
const (
	ProviderTwilio   = "twilio"
	ProviderSendGrid = "sendgrid"
)

// StatusPayload is one delivery status reported by a provider. It holds ids
// and codes only: no address, no body.
//
// ClinicID is the clinic the callback was verified for, and every effect of
// the status is that clinic's: the message, send, address, consent and
// fallback are looked up within it, and an id of another clinic's changes
// nothing. ViaInstallation says the callback was verified with the
// installation's secret, not the clinic's own: it may then touch only a
// clinic that has no account of its own with the provider (whose messages
// went through the installation's account).
type StatusPayload struct {
	Provider        string    `json:"provider"`
	ClinicID        string    `json:"clinic_id"`
	ViaInstallation bool      `json:"via_installation,omitempty"`
	Key             string    `json:"key"`                   // idempotency key: MessageSid+status, sg_event_id
	ProviderID      string    `json:"provider_id,omitempty"` // MessageSid; SendGrid's X-Message-Id
	SendID          string    `json:"send_id,omitempty"`     // from the callback URL or custom_args
	Event           string    `json:"event"`                 // the provider's status or event name
	ErrorCode       string    `json:"error_code,omitempty"`
	At              time.Time `json:"at"`
}

// NewStatusTask encodes p as a task; its TaskID is p.TaskID().
func NewStatusTask(p StatusPayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeStatus, b), nil
}

// ParseStatusPayload decodes a TypeStatus task's payload. Provider, key and
// clinic are required: a status without a clinic (queued before statuses
// carried one) cannot be scoped.
func ParseStatusPayload(b []byte) (StatusPayload, error) {
	var p StatusPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("decode status payload: %w", err)
	}
	if p.Provider == "" || p.Key == "" || p.ClinicID == "" {
		return p, errors.New("status payload: provider, key and clinic are required")
	}
	return p, nil
}

// TaskID is the asynq TaskID of the status (StatusTaskID).
func (p StatusPayload) TaskID() string {
	return StatusTaskID(p.Provider, p.ClinicID, p.Key)
}

// StatusTaskID is the asynq TaskID of a status: duplicates of a callback that
// arrive while the first is queued are refused by asynq; later ones by the
// store. The clinic is part of it (with its length, so that no two clinics'
// ids meet): a callback sent to one clinic cannot hold up another's.
func StatusTaskID(provider, clinicID, key string) string {
	return "status:" + provider + ":" + strconv.Itoa(len(clinicID)) + ":" + clinicID + ":" + key
}
