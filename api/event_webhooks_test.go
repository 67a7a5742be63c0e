package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestEventWebhookEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// Created with a generated secret, shown once.
	out := b.must(b.keyA, http.MethodPut, "/v1/webhooks/ehr", map[string]any{
		"url": "https://ehr.example/beckon", "event_types": []string{"appointment.confirmed", "message.failed"},
	}, http.StatusCreated)
	secret, _ := out["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || out["enabled"] != true {
		t.Fatalf("created endpoint %v: want a generated secret and enabled", out)
	}
	stored, err := b.st.WebhookEndpointGet(context.Background(), b.clinic.ID, "ehr")
	if err != nil || stored.Secret != secret {
		t.Fatalf("stored secret %q (%v), want the one returned", stored.Secret, err)
	}
	// Never returned again.
	for _, path := range []string{"/v1/webhooks/ehr", "/v1/webhooks"} {
		_, body := b.do(b.keyA, http.MethodGet, path, nil)
		raw, _ := json.Marshal(body)
		if strings.Contains(string(raw), secret) || strings.Contains(string(raw), `"secret"`) {
			t.Fatalf("GET %s shows the secret: %s", path, raw)
		}
	}
	// Replaced without a secret: kept; with one: the new one, not echoed.
	out = b.must(b.keyA, http.MethodPut, "/v1/webhooks/ehr", map[string]any{"url": "https://ehr.example/v2"}, http.StatusOK)
	if _, shown := out["secret"]; shown || out["url"] != "https://ehr.example/v2" {
		t.Fatalf("replaced endpoint %v", out)
	}
	if e, _ := b.st.WebhookEndpointGet(context.Background(), b.clinic.ID, "ehr"); e.Secret != secret || len(e.EventTypes) != 0 {
		t.Fatalf("after replacement: secret kept %v, types %v (want every type)", e.Secret == secret, e.EventTypes)
	}
	out = b.must(b.keyA, http.MethodPut, "/v1/webhooks/ehr", map[string]any{"url": "https://ehr.example/v2", "secret": hookSecret, "enabled": false}, http.StatusOK)
	if _, shown := out["secret"]; shown || out["enabled"] != false {
		t.Fatalf("endpoint with a given secret %v", out)
	}
	if e, _ := b.st.WebhookEndpointGet(context.Background(), b.clinic.ID, "ehr"); e.Secret != hookSecret {
		t.Fatal("the given secret was not stored")
	}

	list := b.must(b.keyA, http.MethodGet, "/v1/webhooks", nil, http.StatusOK)
	if hooks := list["webhooks"].([]any); len(hooks) != 1 || hooks[0].(map[string]any)["id"] != "ehr" {
		t.Fatalf("list %v", list)
	}
	b.must(b.keyA, http.MethodDelete, "/v1/webhooks/ehr", nil, http.StatusNoContent)
	b.must(b.keyA, http.MethodGet, "/v1/webhooks/ehr", nil, http.StatusNotFound)
}

func TestEventWebhookValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no url", map[string]any{}, "url"},
		{"http", map[string]any{"url": "http://ehr.example/x"}, "url"},
		{"internal host", map[string]any{"url": "https://127.0.0.1/x"}, "url"},
		{"credentials", map[string]any{"url": "https://u:p@ehr.example/x"}, "url"},
		{"unknown type", map[string]any{"url": "https://ehr.example/x", "event_types": []string{"appointment.exploded"}}, "event_types[0]"},
		{"secret without prefix", map[string]any{"url": "https://ehr.example/x", "secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "secret"},
		{"short secret", map[string]any{"url": "https://ehr.example/x", "secret": "whsec_c2hvcnQ="}, "secret"},
		{"unknown field", map[string]any{"url": "https://ehr.example/x", "secrte": hookSecret}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := b.do(b.keyA, http.MethodPut, "/v1/webhooks/bad", c.body)
			if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
				t.Fatalf("status %d %v, want a 4xx", status, body)
			}
			raw, _ := json.Marshal(body)
			if c.field != "" && !strings.Contains(string(raw), c.field) {
				t.Fatalf("error %s does not name %s", raw, c.field)
			}
			if _, err := b.st.WebhookEndpointGet(context.Background(), b.clinic.ID, "bad"); err != beckon.ErrNotFound {
				t.Fatalf("a refused endpoint was stored (%v)", err)
			}
		})
	}
	// The EHR role may not manage endpoints.
	status, body := b.do(b.ehrA, http.MethodPut, "/v1/webhooks/x", map[string]any{"url": "https://ehr.example/x"})
	checkError(t, status, body, http.StatusForbidden, "forbidden", "")
}

func TestEventWebhookScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/webhooks/ehr", map[string]any{"url": "https://ehr.example/a", "secret": hookSecret}, http.StatusCreated)
	ev := beckon.Event{ID: "evt_scope", ClinicID: b.clinic.ID, Type: beckon.EventMessageDelivered, At: time.Now().UTC()}
	if err := b.st.EventAppend(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/v1/webhooks/ehr"},
		{http.MethodGet, "/v1/webhooks/ehr/deliveries"},
		{http.MethodPost, "/v1/webhooks/ehr/test"},
		{http.MethodDelete, "/v1/webhooks/ehr"},
	} {
		status, body := b.do(b.keyB, r.method, r.path, nil)
		checkError(t, status, body, http.StatusNotFound, "not_found", "")
	}
	if list := b.must(b.keyB, http.MethodGet, "/v1/webhooks", nil, http.StatusOK); len(list["webhooks"].([]any)) != 0 {
		t.Fatalf("clinic B lists A's endpoints: %v", list)
	}
	// B's PUT of the same id creates B's own endpoint; A's is untouched.
	b.must(b.keyB, http.MethodPut, "/v1/webhooks/ehr", map[string]any{"url": "https://b.example/x"}, http.StatusCreated)
	if e, _ := b.st.WebhookEndpointGet(context.Background(), b.clinic.ID, "ehr"); e.URL != "https://ehr.example/a" || e.Secret != hookSecret {
		t.Fatalf("A's endpoint changed by B: %+v", e)
	}

	// Another endpoint of A, for every type, gets no test event of "ehr".
	b.must(b.keyA, http.MethodPut, "/v1/webhooks/other", map[string]any{"url": "https://ehr.example/o"}, http.StatusCreated)
	// A sees its deliveries, with the test one newest first.
	test := b.must(b.keyA, http.MethodPost, "/v1/webhooks/ehr/test", nil, http.StatusAccepted)
	if test["event_type"] != "webhook.test" || test["status"] != "pending" {
		t.Fatalf("test delivery %v", test)
	}
	ds := b.must(b.keyA, http.MethodGet, "/v1/webhooks/ehr/deliveries", nil, http.StatusOK)["deliveries"].([]any)
	if len(ds) != 2 || ds[0].(map[string]any)["event_type"] != "webhook.test" || ds[1].(map[string]any)["event_id"] != "evt_scope" {
		t.Fatalf("deliveries %v", ds)
	}
	if others := b.must(b.keyA, http.MethodGet, "/v1/webhooks/other/deliveries", nil, http.StatusOK)["deliveries"].([]any); len(others) != 0 {
		t.Fatalf("another endpoint got the test event: %v", others)
	}
	if attempts := ds[1].(map[string]any)["attempts"].([]any); len(attempts) != 0 {
		t.Fatalf("attempts of an undelivered event: %v", attempts)
	}
}
