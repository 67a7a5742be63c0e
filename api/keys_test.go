package api_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/ratelimit"
)

// setupLimited is setup with limits checked in a Redis of its own.
func setupLimited(t *testing.T, limits api.Limits) (*bundle, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	limits.Limiter = ratelimit.New(rdb, slog.New(slog.DiscardHandler))
	return setupWith(t, slog.New(slog.DiscardHandler), func(c *api.Config) { c.Limits = limits }), mr
}

// TestWebhooksLimitedPerAddress: provider webhooks are limited per client
// address with 429 and Retry-After, before their signature is checked.
func TestWebhooksLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b, _ := setupLimited(t, api.Limits{Webhooks: ratelimit.Limit{N: 2, Period: time.Hour}})
	for i := range 2 {
		// Unsigned: refused by the signature check, but counted.
		if got, _ := b.do("", http.MethodPost, api.TwilioStatusPath+"?clinic_id="+b.clinic.ID, "x=1"); got == http.StatusTooManyRequests {
			t.Fatalf("webhook %d of 2: 429", i+1)
		}
	}
	got, body := b.do("", http.MethodPost, api.TwilioStatusPath+"?clinic_id="+b.clinic.ID, "x=1")
	checkError(t, got, body, http.StatusTooManyRequests, api.CodeRateLimited, "")
	// The API is another class, limited per key (off here).
	b.must(b.keyA, http.MethodGet, "/v1/clinic", nil, http.StatusOK)
}

// TestRedisDownLimitsFailOpen: with Redis gone, keyed requests and
// webhooks get their usual answers, not errors.
func TestRedisDownLimitsFailOpen(t *testing.T) {
	t.Parallel()
	one := ratelimit.Limit{N: 1, Period: time.Hour}
	b, mr := setupLimited(t, api.Limits{API: one, Webhooks: one, AuthFailures: one})
	mr.Close()
	for range 3 {
		b.must(b.keyA, http.MethodGet, "/v1/clinic", nil, http.StatusOK)
		b.must("bk_wrong_key_0123456789", http.MethodGet, "/v1/clinic", nil, http.StatusUnauthorized)
		if got, _ := b.do("", http.MethodPost, api.TwilioStatusPath+"?clinic_id="+b.clinic.ID, "x=1"); got == http.StatusTooManyRequests || got >= 500 {
			t.Fatalf("webhook with Redis down: %d", got)
		}
	}
}

// TestKeysScopedToTheClinic: an admin lists, revokes and rotates only its
// own clinic's keys; an ehr key may not manage keys.
func TestKeysScopedToTheClinic(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out := b.must(b.keyB, http.MethodPost, "/v1/keys", map[string]any{"role": "ehr", "name": "B feed"}, http.StatusCreated)
	idB := out["key"].(map[string]any)["id"].(string)
	list := b.must(b.keyA, http.MethodGet, "/v1/keys", nil, http.StatusOK)
	for _, k := range list["keys"].([]any) {
		if k.(map[string]any)["id"] == idB {
			t.Fatalf("clinic A lists clinic B's key")
		}
		if _, ok := k.(map[string]any)["secret"]; ok {
			t.Fatalf("a listed key has its secret")
		}
	}
	got, body := b.do(b.keyA, http.MethodPost, "/v1/keys/"+idB+"/revoke", nil)
	checkError(t, got, body, http.StatusNotFound, api.CodeNotFound, "")
	got, body = b.do(b.keyA, http.MethodPost, "/v1/keys/"+idB+"/rotate", nil)
	checkError(t, got, body, http.StatusNotFound, api.CodeNotFound, "")
	got, body = b.do(b.ehrA, http.MethodGet, "/v1/keys", nil)
	checkError(t, got, body, http.StatusForbidden, api.CodeForbidden, "")
	got, body = b.do(b.keyA, http.MethodPost, "/v1/keys", map[string]any{"role": "root"})
	checkError(t, got, body, http.StatusUnprocessableEntity, api.CodeInvalid, "role")
	// B's key still works.
	secret := out["secret"].(string)
	b.must(secret, http.MethodGet, "/fhir/r4/Appointment/nope", nil, http.StatusNotFound)
}
