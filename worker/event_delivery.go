package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/egress"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/webhooksig"
)

// EventDeliverer POSTs an event to one of a clinic's webhook endpoints
// (tasks.TypeEventDelivery), signed per Standard Webhooks. A 2xx answer
// delivers it; anything else is recorded and retried by asynq after
// tasks.EventRetryDelay, up to tasks.EventMaxAttempts attempts. An endpoint
// whose every attempt failed for beckon.WebhookFailingLimit (by the
// injected clock) is disabled, and its pending deliveries end failed with
// the reason.
type EventDeliverer struct {
	Store  beckon.Store
	Client *http.Client
	Clock  beckon.Clock
	Logger *slog.Logger
	// ClaimTimeout is how long an attempt may hold a delivery before
	// another may take it (the client's timeout is well under it).
	ClaimTimeout time.Duration
	// Metrics counts the attempts by outcome; nil: nothing is counted.
	Metrics Metrics
}

// eventTimeout bounds one POST.
const eventTimeout = 20 * time.Second

// NewEventDeliverer returns the handler; its HTTP client is bounded in time
// and calls only the destinations the egress policy allows.
func NewEventDeliverer(st beckon.Store, clock beckon.Clock, logger *slog.Logger, policy egress.Policy) *EventDeliverer {
	return &EventDeliverer{
		Store: st, Client: policy.Client(eventTimeout, logger), Clock: clock,
		Logger: logger.With(slog.String("component", "events")), ClaimTimeout: 3 * eventTimeout,
	}
}

// ErrDeliveryHeld means another attempt holds the delivery; the task is
// retried.
var ErrDeliveryHeld = errors.New("another attempt holds the event delivery")

// ProcessTask implements asynq.Handler.
func (d *EventDeliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseEventDeliveryPayload(t.Payload())
	if err != nil {
		return fmt.Errorf("bad event delivery payload: %w", asynq.SkipRetry)
	}
	return d.Deliver(ctx, p.ClinicID, p.DeliveryID)
}

// Deliver makes one attempt of the clinic's delivery. It returns nil when
// the delivery is over (delivered, failed, or no longer there), an error
// wrapping asynq.SkipRetry when it cannot be attempted, and another error
// when asynq should try again.
func (d *EventDeliverer) Deliver(ctx context.Context, clinicID, id string) error {
	now := d.Clock.Now()
	log := d.Logger.With(slog.String("clinic_id", clinicID), slog.String("delivery_id", id))
	dl, claimed, err := d.Store.WebhookDeliveryClaim(ctx, beckon.WebhookDeliveryClaimParams{
		ClinicID: clinicID, ID: id, Now: now, StaleBefore: now.Add(-d.ClaimTimeout),
	})
	if errors.Is(err, beckon.ErrNotFound) {
		log.Info("event delivery no longer exists")
		return nil
	}
	if err != nil {
		return err
	}
	if !claimed {
		if dl.Status != beckon.DeliveryPending {
			return nil
		}
		return ErrDeliveryHeld
	}
	ep, err := d.Store.WebhookEndpointGet(ctx, clinicID, dl.EndpointID)
	if err != nil {
		return fmt.Errorf("event delivery %s: endpoint: %w", id, err)
	}
	if !ep.Enabled && dl.EventType != beckon.EventWebhookTest {
		reason := ep.DisabledReason
		if reason == "" {
			reason = "the endpoint is disabled"
		}
		return d.finish(ctx, log, dl, beckon.WebhookAttempt{At: now, Error: reason}, beckon.DeliveryFailed, time.Time{})
	}
	ev, err := d.Store.EventGet(ctx, clinicID, dl.EventID)
	if err != nil {
		return fmt.Errorf("event delivery %s: event: %w", id, err)
	}
	attempt := d.post(ctx, ep, ev, now)
	if attempt.Error == "" {
		if err := d.finish(ctx, log, dl, attempt, beckon.DeliveryDelivered, time.Time{}); err != nil {
			return err
		}
		_, err := d.Store.WebhookEndpointHealth(context.WithoutCancel(ctx), clinicID, ep.ID, true, now)
		return err
	}
	if dl.Attempts+1 >= tasks.EventMaxAttempts {
		attempt.Error = fmt.Sprintf("gave up after %d attempts: %s", dl.Attempts+1, attempt.Error)
		if err := d.finish(ctx, log, dl, attempt, beckon.DeliveryFailed, time.Time{}); err != nil {
			return err
		}
		_, err := d.failing(ctx, log, ep, now)
		return err
	}
	next := now.Add(tasks.EventRetryDelay(dl.Attempts, dl.ID))
	if err := d.finish(ctx, log, dl, attempt, beckon.DeliveryPending, next); err != nil {
		return err
	}
	disabled, err := d.failing(ctx, log, ep, now)
	if err != nil || disabled {
		return err // disabled: this delivery ended failed with the others
	}
	return errors.New("event delivery: " + attempt.Error)
}

// post sends the event once and says how it went (Error empty: a 2xx).
func (d *EventDeliverer) post(ctx context.Context, ep beckon.WebhookEndpoint, ev beckon.Event, now time.Time) beckon.WebhookAttempt {
	attempt := beckon.WebhookAttempt{At: now}
	key, err := webhooksig.Key(ep.Secret)
	if err != nil {
		attempt.Error = "the endpoint's secret is not usable"
		return attempt
	}
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	body, _ := json.Marshal(struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{ev.ID, ev.Type, ev.At.UTC().Format(time.RFC3339Nano), data})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		attempt.Error = "the endpoint's URL is not usable"
		return attempt
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Beckon-Webhooks/1")
	webhooksig.SetHeaders(req.Header, key, ev.ID, now, body)
	start := time.Now() // a measurement shown to the clinic, not a decision
	resp, err := d.Client.Do(req)
	attempt.Duration = time.Since(start)
	if err != nil {
		attempt.Error = "the endpoint did not answer"
		if errors.Is(err, context.DeadlineExceeded) {
			attempt.Error = "the endpoint did not answer in time"
		}
		return attempt
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	attempt.StatusCode = resp.StatusCode
	if resp.StatusCode/100 != 2 {
		attempt.Error = fmt.Sprintf("the endpoint answered %d", resp.StatusCode)
	}
	return attempt
}

// finish records the attempt and the delivery's new status.
func (d *EventDeliverer) finish(ctx context.Context, log *slog.Logger, dl beckon.WebhookDelivery, a beckon.WebhookAttempt, status string, next time.Time) error {
	err := d.Store.WebhookDeliveryFinish(context.WithoutCancel(ctx), beckon.WebhookDeliveryFinishParams{
		ClinicID: dl.ClinicID, ID: dl.ID, Attempt: a, Status: status, NextAttemptAt: next,
	})
	if errors.Is(err, beckon.ErrConflict) {
		return nil // no longer pending: the endpoint was disabled or deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("record event delivery: %w", err)
	}
	metricsOr(d.Metrics).EventDelivery(eventOutcome(status))
	log.Info("event delivery attempt", slog.String("endpoint_id", dl.EndpointID), slog.String("event_id", dl.EventID),
		slog.String("event_type", dl.EventType), slog.String("status", status), slog.Int("attempt", dl.Attempts+1),
		slog.Int("status_code", a.StatusCode), slog.Int64("duration_ms", a.Duration.Milliseconds()))
	return nil
}

// failing records a failed attempt against the endpoint and disables it
// once it has failed every attempt for beckon.WebhookFailingLimit,
// reporting whether it did.
func (d *EventDeliverer) failing(ctx context.Context, log *slog.Logger, ep beckon.WebhookEndpoint, now time.Time) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	h, err := d.Store.WebhookEndpointHealth(ctx, ep.ClinicID, ep.ID, false, now)
	if err != nil || !h.Enabled || now.Sub(h.FailingSince) < beckon.WebhookFailingLimit {
		return false, err
	}
	reason := fmt.Sprintf("disabled: every attempt failed since %s (%s without a success)",
		h.FailingSince.UTC().Format(time.RFC3339), beckon.WebhookFailingLimit)
	disabled, err := d.Store.WebhookEndpointDisable(ctx, ep.ClinicID, ep.ID, reason, now)
	if disabled {
		log.Warn("webhook endpoint disabled after failing", slog.String("endpoint_id", ep.ID))
	}
	return disabled, err
}

// eventOutcome is a delivery's new status as a metrics outcome: delivered,
// retrying (still pending) or failed.
func eventOutcome(status string) string {
	switch status {
	case beckon.DeliveryDelivered:
		return "delivered"
	case beckon.DeliveryPending:
		return "retrying"
	}
	return "failed"
}
