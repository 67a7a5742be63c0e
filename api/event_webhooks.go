package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/webhooksig"
)

// WebhookEndpointBody is a clinic's endpoint for events.
type WebhookEndpointBody struct {
	URL        string   `json:"url" maxLength:"500" doc:"Where events are POSTed. https, no user name or password, not an internal address (http and internal hosts only where the installation allows them)"`
	EventTypes []string `json:"event_types,omitempty" maxItems:"20" enum:"appointment.confirmed,appointment.cancel_requested,appointment.reschedule_requested,patient.opted_out,patient.opted_in,message.received,message.delivered,message.failed" doc:"The types sent here; empty: every type"`
	Secret     string   `json:"secret,omitempty" maxLength:"200" doc:"Standard Webhooks secret (whsec_ and the base64 of 24 to 64 random bytes); write-only. Omitted on creation: one is generated and returned once. Omitted on replacement: the current one is kept"`
	Enabled    *bool    `json:"enabled,omitempty" doc:"Default true. Enabling an endpoint Beckon disabled after a day of failures clears the reason"`
}

// WebhookEndpoint is an endpoint as returned: its secret is shown only when
// Beckon generated it, in the answer that created it.
type WebhookEndpoint struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"event_types" doc:"Empty: every type"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty" doc:"Why Beckon disabled it"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty" doc:"Every attempt since then failed; a day of it disables the endpoint"`
	Secret         string     `json:"secret,omitempty" doc:"The generated secret, in the answer that created it only"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty" doc:"The endpoint's HTTP status; absent when it did not answer"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// WebhookDelivery is an event on its way to an endpoint, with its attempts.
type WebhookDelivery struct {
	ID             string           `json:"id"`
	EventID        string           `json:"event_id" doc:"The webhook-id header"`
	EventType      string           `json:"event_type"`
	Status         string           `json:"status" enum:"pending,delivered,failed"`
	Attempts       []WebhookAttempt `json:"attempts" doc:"Oldest first"`
	NextAttemptAt  *time.Time       `json:"next_attempt_at,omitempty" doc:"Pending: when the next attempt is due"`
	LastStatusCode int              `json:"last_status_code,omitempty"`
	LastError      string           `json:"last_error,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
}

type putWebhookInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$" doc:"Your name for the endpoint"`
	Body WebhookEndpointBody
}

type webhookOutput struct {
	Status int
	Body   WebhookEndpoint
}

type webhookListOutput struct {
	Body struct {
		Webhooks []WebhookEndpoint `json:"webhooks" doc:"By id"`
	}
}

type webhookDeliveriesInput struct {
	ID    string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type webhookDeliveriesOutput struct {
	Body struct {
		Deliveries []WebhookDelivery `json:"deliveries" doc:"Newest first"`
	}
}

type webhookTestOutput struct {
	Body WebhookDelivery
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func webhookOut(e beckon.WebhookEndpoint) WebhookEndpoint {
	return WebhookEndpoint{
		ID: e.ID, URL: e.URL, EventTypes: append([]string{}, e.EventTypes...), Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, DisabledAt: optionalTime(e.DisabledAt),
		FailingSince: optionalTime(e.FailingSince), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

func deliveryOut(d beckon.WebhookDelivery) WebhookDelivery {
	out := WebhookDelivery{
		ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: []WebhookAttempt{},
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, CreatedAt: d.CreatedAt,
	}
	if d.Status == beckon.DeliveryPending {
		out.NextAttemptAt = optionalTime(d.NextAttemptAt)
	}
	for _, a := range d.AttemptLog {
		out.Attempts = append(out.Attempts, WebhookAttempt{
			At: a.At, StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.Duration.Milliseconds(),
		})
	}
	return out
}

func (s *Server) registerEventWebhooks() {
	huma.Register(s.api, creates(op("put-webhook", http.MethodPut, "/v1/webhooks/{id}",
		"Create or replace an endpoint that receives the clinic's events, signed per Standard Webhooks")),
		func(ctx context.Context, in *putWebhookInput) (*webhookOutput, error) {
			k := keyFrom(ctx)
			var fe fieldErrors
			if err := s.cfg.Egress.CheckURL(in.Body.URL); err != nil {
				fe.add("url", "%v", err)
			}
			if in.Body.Secret != "" && !webhooksig.Valid(in.Body.Secret) {
				fe.add("secret", "%v", webhooksig.ErrSecret)
			}
			if err := fe.err(); err != nil {
				return nil, err
			}
			now := s.svc.Clock.Now()
			e := beckon.WebhookEndpoint{
				ClinicID: k.ClinicID, ID: in.ID, URL: in.Body.URL, Secret: in.Body.Secret,
				Enabled: in.Body.Enabled == nil || *in.Body.Enabled, CreatedAt: now, UpdatedAt: now,
			}
			for _, t := range in.Body.EventTypes {
				if !slices.Contains(e.EventTypes, t) {
					e.EventTypes = append(e.EventTypes, t)
				}
			}
			generated := ""
			if e.Secret == "" {
				if _, err := s.store.WebhookEndpointGet(ctx, k.ClinicID, in.ID); err == beckon.ErrNotFound {
					generated = webhooksig.NewSecret()
					e.Secret = generated
				} else if err != nil {
					return nil, s.mapError("put-webhook", err)
				}
			}
			created, err := s.store.WebhookEndpointPut(ctx, e)
			if err != nil {
				return nil, s.mapError("put-webhook", err)
			}
			saved, err := s.store.WebhookEndpointGet(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("put-webhook", err)
			}
			out := &webhookOutput{Status: http.StatusOK, Body: webhookOut(saved)}
			if created {
				out.Status = http.StatusCreated
			}
			// The generated secret is what was stored (also when a
			// concurrent PUT created the endpoint first): shown this once.
			out.Body.Secret = generated
			s.logger.Info("webhook endpoint saved", slog.String("clinic_id", k.ClinicID),
				slog.String("endpoint_id", in.ID), slog.Bool("created", created), slog.Bool("enabled", saved.Enabled))
			return out, nil
		})
	huma.Register(s.api, op("list-webhooks", http.MethodGet, "/v1/webhooks", "List the clinic's event endpoints (secrets are not shown)"),
		func(ctx context.Context, _ *struct{}) (*webhookListOutput, error) {
			es, err := s.store.WebhookEndpointList(ctx, keyFrom(ctx).ClinicID)
			if err != nil {
				return nil, s.mapError("list-webhooks", err)
			}
			out := &webhookListOutput{}
			out.Body.Webhooks = make([]WebhookEndpoint, len(es))
			for i, e := range es {
				out.Body.Webhooks[i] = webhookOut(e)
			}
			return out, nil
		})
	huma.Register(s.api, op("get-webhook", http.MethodGet, "/v1/webhooks/{id}", "Read an event endpoint (its secret is not shown)"),
		func(ctx context.Context, in *idPath) (*webhookOutput, error) {
			e, err := s.store.WebhookEndpointGet(ctx, keyFrom(ctx).ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-webhook", err)
			}
			return &webhookOutput{Status: http.StatusOK, Body: webhookOut(e)}, nil
		})
	dop := op("delete-webhook", http.MethodDelete, "/v1/webhooks/{id}", "Delete an event endpoint with its deliveries")
	dop.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, dop, func(ctx context.Context, in *idPath) (*struct{}, error) {
		if err := s.store.WebhookEndpointDelete(ctx, keyFrom(ctx).ClinicID, in.ID); err != nil {
			return nil, s.mapError("delete-webhook", err)
		}
		return nil, nil
	})
	huma.Register(s.api, op("list-webhook-deliveries", http.MethodGet, "/v1/webhooks/{id}/deliveries",
		"An endpoint's deliveries, newest first, each with its attempts (time, HTTP status, error, duration)"),
		func(ctx context.Context, in *webhookDeliveriesInput) (*webhookDeliveriesOutput, error) {
			k := keyFrom(ctx)
			if _, err := s.store.WebhookEndpointGet(ctx, k.ClinicID, in.ID); err != nil {
				return nil, s.mapError("list-webhook-deliveries", err)
			}
			ds, err := s.store.WebhookDeliveryList(ctx, beckon.WebhookDeliveryListParams{
				ClinicID: k.ClinicID, EndpointID: in.ID, Limit: in.Limit,
			})
			if err != nil {
				return nil, s.mapError("list-webhook-deliveries", err)
			}
			out := &webhookDeliveriesOutput{}
			out.Body.Deliveries = make([]WebhookDelivery, len(ds))
			for i, d := range ds {
				out.Body.Deliveries[i] = deliveryOut(d)
			}
			return out, nil
		})
	huma.Register(s.api, answers(http.StatusAccepted, op("test-webhook", http.MethodPost, "/v1/webhooks/{id}/test",
		"Send a webhook.test event to this endpoint only (even when it is disabled); its delivery is returned")),
		func(ctx context.Context, in *idPath) (*webhookTestOutput, error) {
			k := keyFrom(ctx)
			d, err := s.testDelivery(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("test-webhook", err)
			}
			return &webhookTestOutput{Body: deliveryOut(d)}, nil
		})
}

// testDelivery records a webhook.test event and its one delivery to the
// endpoint, and hands it to asynq (the pump does if that fails).
func (s *Server) testDelivery(ctx context.Context, clinicID, endpointID string) (beckon.WebhookDelivery, error) {
	now := s.svc.Clock.Now()
	ev := beckon.Event{ID: beckon.NewID("evt_"), ClinicID: clinicID, Type: beckon.EventWebhookTest, At: now}
	ev.Data, _ = json.Marshal(map[string]string{"endpoint_id": endpointID})
	d := beckon.WebhookDelivery{
		ID: beckon.WebhookDeliveryID(ev.ID, endpointID), ClinicID: clinicID, EventID: ev.ID,
		EndpointID: endpointID, EventType: ev.Type, NextAttemptAt: now, CreatedAt: now,
	}
	err := s.store.InTx(ctx, func(q beckon.Querier) error {
		if _, err := q.WebhookEndpointGet(ctx, clinicID, endpointID); err != nil {
			return err
		}
		if err := q.EventAppend(ctx, ev); err != nil {
			return err
		}
		return q.WebhookDeliveryInsert(ctx, d)
	})
	if err != nil {
		return d, err
	}
	if s.cfg.Tasks != nil {
		if err := scheduler.EnqueueEventDeliveries(ctx, s.cfg.Tasks, s.cfg.Queue, []beckon.WebhookDelivery{d}); err != nil {
			s.logger.Error("test event enqueue failed", slog.String("delivery_id", d.ID), slog.String("error", err.Error()))
		}
	}
	return s.store.WebhookDeliveryGet(ctx, clinicID, d.ID)
}
