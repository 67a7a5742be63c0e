package beckon

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"
)

// Event types: what a clinic's webhook endpoints can subscribe to.
const (
	EventAppointmentConfirmed           = "appointment.confirmed"
	EventAppointmentCancelRequested     = "appointment.cancel_requested"
	EventAppointmentRescheduleRequested = "appointment.reschedule_requested"
	EventPatientOptedOut                = "patient.opted_out"
	EventPatientOptedIn                 = "patient.opted_in"
	EventMessageReceived                = "message.received"
	EventMessageDelivered               = "message.delivered"
	EventMessageFailed                  = "message.failed"
	// EventWebhookTest is sent only to the one endpoint asked to test itself;
	// no endpoint subscribes to it.
	EventWebhookTest = "webhook.test"
)

// EventTypes are the types an endpoint can subscribe to, in a stable order.
var EventTypes = []string{
	EventAppointmentConfirmed, EventAppointmentCancelRequested, EventAppointmentRescheduleRequested,
	EventPatientOptedOut, EventPatientOptedIn, EventMessageReceived, EventMessageDelivered, EventMessageFailed,
}

// Event is something that happened that a clinic's endpoints may hear of.
// It is recorded in the transaction of the change that caused it (the
// outbox pattern): it exists if and only if that change committed.
type Event struct {
	// ID is deterministic from the event's cause when it has one
	// (EventID), else NewID("evt_"): recording the same cause twice
	// records one event.
	ID       string
	ClinicID string
	Type     string
	// Data is the event's JSON object: ids, types, times and what the
	// clinic needs; never message bodies, phone numbers or secrets.
	Data json.RawMessage
	At   time.Time
}

// EventID is the id of the event of a cause (clinic, kind of cause and its
// ids): "evt_" and 26 characters of a hash of them.
func EventID(clinicID string, cause ...string) string {
	return "evt_" + hashID(append([]string{clinicID}, cause...))
}

// WebhookDeliveryID is the id of an event's delivery to an endpoint (the
// delivery task's TaskID).
func WebhookDeliveryID(eventID, endpointID string) string {
	return "whd_" + hashID([]string{eventID, endpointID})
}

// hashID is 26 Crockford base32 characters of a SHA-256 of parts.
func hashID(parts []string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	return encodeID(b)
}

// WebhookEndpoint is a URL of a clinic that receives its events, signed
// with its secret (Standard Webhooks). An endpoint failing without a
// success for WebhookFailingLimit is disabled with the reason.
type WebhookEndpoint struct {
	ClinicID   string
	ID         string // chosen by the clinic
	URL        string
	EventTypes []string // empty: every type
	Secret     string   // whsec_…; never shown once set
	Enabled    bool
	// DisabledReason and DisabledAt say why and when Beckon disabled it
	// (empty when the clinic did, or when enabled).
	DisabledReason string
	DisabledAt     time.Time
	// FailingSince is the first failed attempt since the last success
	// (zero: the last attempt succeeded, or none was made).
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Subscribed reports whether the endpoint receives events of type t.
func (e WebhookEndpoint) Subscribed(t string) bool {
	if len(e.EventTypes) == 0 {
		return true
	}
	for _, s := range e.EventTypes {
		if s == t {
			return true
		}
	}
	return false
}

// WebhookFailingLimit is how long an endpoint may fail every attempt before
// it is disabled.
const WebhookFailingLimit = 24 * time.Hour

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID             string // WebhookDeliveryID(EventID, EndpointID)
	ClinicID       string
	EventID        string
	EndpointID     string
	EventType      string
	Status         string // DeliveryPending, DeliveryDelivered, DeliveryFailed
	Attempts       int
	NextAttemptAt  time.Time // pending: when the next attempt is due
	LastStatusCode int       // the last answer's HTTP status (0: none)
	LastError      string
	// EnqueuedAt is when the delivery was last handed to asynq.
	EnqueuedAt time.Time
	// ClaimedAt is when an attempt in progress started (zero: none).
	ClaimedAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// AttemptLog is every attempt, oldest first (filled by
	// WebhookDeliveryList and WebhookDeliveryGet).
	AttemptLog []WebhookAttempt
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	At         time.Time
	StatusCode int // 0: no answer
	Error      string
	Duration   time.Duration
}

// EventStore records events and their deliveries to the clinics' webhook
// endpoints.
type EventStore interface {
	// EventAppend records events and, in the same transaction, one pending
	// delivery (due at the event's time) per enabled endpoint of the
	// clinic subscribed to the type. An event whose ID exists is skipped.
	EventAppend(ctx context.Context, events ...Event) error
	EventGet(ctx context.Context, clinicID, id string) (Event, error)

	// WebhookEndpointPut inserts or replaces the clinic's endpoint (an
	// empty Secret keeps the stored one; CreatedAt is kept); it reports
	// whether it created it.
	WebhookEndpointPut(ctx context.Context, e WebhookEndpoint) (created bool, err error)
	WebhookEndpointGet(ctx context.Context, clinicID, id string) (WebhookEndpoint, error)
	WebhookEndpointList(ctx context.Context, clinicID string) ([]WebhookEndpoint, error) // by id
	// WebhookEndpointDelete deletes the endpoint with its deliveries.
	WebhookEndpointDelete(ctx context.Context, clinicID, id string) error
	// WebhookEndpointDisable disables an enabled endpoint with the reason,
	// and ends its pending deliveries failed with it; false if it was not
	// enabled.
	WebhookEndpointDisable(ctx context.Context, clinicID, id, reason string, at time.Time) (bool, error)
	// WebhookEndpointHealth records an attempt's outcome: a success clears
	// FailingSince, a failure sets it if it is not set. It returns the
	// endpoint as it is after.
	WebhookEndpointHealth(ctx context.Context, clinicID, id string, ok bool, at time.Time) (WebhookEndpoint, error)

	// WebhookDeliveryInsert inserts a pending delivery (an id that exists
	// is left as it is; for an event sent to one endpoint, as a test).
	WebhookDeliveryInsert(ctx context.Context, d WebhookDelivery) error
	WebhookDeliveryGet(ctx context.Context, clinicID, id string) (WebhookDelivery, error) // with AttemptLog
	// WebhookDeliveryList lists an endpoint's deliveries, newest first,
	// with their attempts.
	WebhookDeliveryList(ctx context.Context, p WebhookDeliveryListParams) ([]WebhookDelivery, error)
	// WebhookDeliveryListDue lists pending deliveries (of any clinic: for
	// the pump) with NextAttemptAt <= DueBefore that were never handed to
	// asynq or were last at or before EnqueuedBefore, oldest due first.
	WebhookDeliveryListDue(ctx context.Context, p WebhookDeliveryDueParams) ([]WebhookDelivery, error)
	WebhookDeliveryMarkEnqueued(ctx context.Context, ids []string, at time.Time) error
	// WebhookDeliveryClaim takes a pending delivery of the clinic that no
	// attempt holds (or one whose attempt started at or before
	// StaleBefore) for an attempt at Now; false if it is not pending or
	// held.
	WebhookDeliveryClaim(ctx context.Context, p WebhookDeliveryClaimParams) (d WebhookDelivery, claimed bool, err error)
	// WebhookDeliveryFinish records a claimed delivery's attempt and moves
	// it to Status (pending again with NextAttemptAt, delivered or failed),
	// releasing the claim.
	WebhookDeliveryFinish(ctx context.Context, p WebhookDeliveryFinishParams) error
}

// WebhookDeliveryListParams selects an endpoint's deliveries.
type WebhookDeliveryListParams struct {
	ClinicID   string
	EndpointID string
	Limit      int // default 100
}

// WebhookDeliveryDueParams selects deliveries for the pump.
type WebhookDeliveryDueParams struct {
	DueBefore      time.Time
	EnqueuedBefore time.Time
	Limit          int // default 100
}

// WebhookDeliveryClaimParams claims a delivery for one attempt.
type WebhookDeliveryClaimParams struct {
	ClinicID    string
	ID          string
	Now         time.Time
	StaleBefore time.Time
}

// WebhookDeliveryFinishParams ends an attempt.
type WebhookDeliveryFinishParams struct {
	ClinicID      string
	ID            string
	Attempt       WebhookAttempt
	Status        string
	NextAttemptAt time.Time // for DeliveryPending
}
