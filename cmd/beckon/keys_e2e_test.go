package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/api"
)

// keyView is a key as GET /v1/keys lists it.
type keyView struct {
	ID         string     `json:"id"`
	Prefix     string     `json:"prefix"`
	Role       string     `json:"role"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type keySecret struct {
	Key    keyView `json:"key"`
	Secret string  `json:"secret"`
}

// createKey makes a key through POST /v1/keys with the app's admin key.
func (a *app) createKey(body map[string]any) keySecret {
	a.t.Helper()
	var out keySecret
	a.mustCall(http.StatusCreated, http.MethodPost, "/v1/keys", body, &out)
	if out.Secret == "" || !strings.HasPrefix(out.Secret, out.Key.Prefix) || len(out.Key.Prefix) != 10 {
		a.t.Fatalf("created key %+v: the secret must start with its 10-character prefix", out)
	}
	return out
}

// startAPIBeside runs `beckon api` on a's database and Redis: a second
// process of the same installation.
func startAPIBeside(t *testing.T, a *app) *app {
	t.Helper()
	env := map[string]string{
		"BECKON_HTTP_ADDR":     "127.0.0.1:0",
		"BECKON_QUEUE":         a.queue,
		"BECKON_DATABASE_URL":  a.m.Config.DatabaseURL,
		"BECKON_REDIS_URL":     a.m.App.RedisURL(),
		"BECKON_LOG_LEVEL":     "debug",
		"BECKON_DEMO":          "false",
		"BECKON_POLL_INTERVAL": "50ms",
	}
	logs := &syncBuffer{}
	m := NewMain()
	m.Stdout, m.Stderr = io.Discard, logs
	m.Getenv = func(k string) string { return env[k] }
	ctx := context.Background()
	if err := m.ParseFlags(ctx, []string{"api"}); err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &app{t: t, m: m, base: "http://" + m.App.Addr(), key: a.key, logs: logs, queue: a.queue}
}

// runCLI runs a one-shot command on a's database and returns its output.
func runCLI(t *testing.T, a *app, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	m := NewMain()
	m.Stdout, m.Stderr = &out, io.Discard
	m.Getenv = func(k string) string {
		if k == "BECKON_DATABASE_URL" {
			return a.m.Config.DatabaseURL
		}
		return ""
	}
	ctx := context.Background()
	if err := m.ParseFlags(ctx, args); err != nil {
		t.Fatalf("beckon %s: %v", strings.Join(args, " "), err)
	}
	defer m.Close()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("beckon %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// TestKeyRevokedOnEveryProcess: a key revoked through one API process is
// refused by another process of the installation within 5 s; the key list
// (API and `beckon key list`) shows its last use and its revocation.
func TestKeyRevokedOnEveryProcess(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
			b := startAPIBeside(t, a)
			k := a.createKey(map[string]any{"role": "ehr", "name": "feed"})
			if got := b.callWith(k.Secret, http.MethodGet, "/fhir/r4/Appointment/nope", nil, nil); got != http.StatusNotFound {
				t.Fatalf("the new key on the second process: %d, want 404 (authenticated)", got)
			}
			var clinic struct {
				ID string `json:"id"`
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/clinic", nil, &clinic)
			list := runCLI(t, a, "key", "list", "-clinic", clinic.ID)
			line := lineWith(list, k.Key.ID)
			if f := strings.Fields(line); len(f) < 7 || f[1] != k.Key.Prefix || f[2] != "ehr" || f[5] == "-" || f[6] != "-" {
				t.Fatalf("beckon key list: want the key with its prefix, role, a last use and no revocation:\n%s", list)
			}

			var revoked keyView
			a.mustCall(http.StatusOK, http.MethodPost, "/v1/keys/"+k.Key.ID+"/revoke", nil, &revoked)
			at := time.Now()
			if revoked.RevokedAt == nil {
				t.Fatalf("revoke answered %+v, want revoked_at", revoked)
			}
			if got := a.callWith(k.Secret, http.MethodGet, "/fhir/r4/Appointment/nope", nil, nil); got != http.StatusUnauthorized {
				t.Errorf("the revoking process: %d, want 401 at once", got)
			}
			waitFor(t, 5*time.Second, "the second process to refuse the revoked key", func() bool {
				return b.callWith(k.Secret, http.MethodGet, "/fhir/r4/Appointment/nope", nil, nil) == http.StatusUnauthorized
			})
			t.Logf("revocation seen by the second process after %s", time.Since(at).Round(time.Millisecond))

			var keys struct {
				Keys []keyView `json:"keys"`
			}
			b.mustCall(http.StatusOK, http.MethodGet, "/v1/keys", nil, &keys)
			var found bool
			for _, v := range keys.Keys {
				if v.ID == k.Key.ID {
					found = true
					if v.LastUsedAt == nil || v.RevokedAt == nil || v.Prefix != k.Key.Prefix {
						t.Errorf("GET /v1/keys: %+v, want its last use and revocation", v)
					}
				}
			}
			if !found {
				t.Errorf("GET /v1/keys does not list %s: %+v", k.Key.ID, keys)
			}
			if f := strings.Fields(lineWith(runCLI(t, a, "key", "list", "-clinic", clinic.ID), k.Key.ID)); len(f) < 7 || f[6] == "-" {
				t.Errorf("beckon key list after revocation: %v, want a revocation time", f)
			}
			if got := a.call(http.MethodPost, "/v1/keys/"+k.Key.ID+"/rotate", nil, nil); got != http.StatusConflict {
				t.Errorf("rotating a revoked key: %d, want 409", got)
			}
		})
	}
}

// lineWith is the line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestKeyExpiresAndRotates: a key stops working when the app's clock passes
// its expiry; rotation gives a working secret and retires the old one.
func TestKeyExpiresAndRotates(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppClock(t, backend, nil)
			expires := a.now().Add(time.Hour)
			k := a.createKey(map[string]any{"role": "admin", "expires_at": rfc(expires)})
			if got := a.callWith(k.Secret, http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusOK {
				t.Fatalf("before its expiry: %d", got)
			}
			if got := a.call(http.MethodPost, "/v1/keys", map[string]any{"role": "admin", "expires_at": rfc(a.now().Add(-time.Second))}, nil); got != http.StatusUnprocessableEntity {
				t.Errorf("a key expiring in the past: %d, want 422", got)
			}

			r := keySecret{}
			a.mustCall(http.StatusCreated, http.MethodPost, "/v1/keys/"+k.Key.ID+"/rotate", nil, &r)
			if r.Key.ExpiresAt == nil || !r.Key.ExpiresAt.Equal(expires) || r.Key.Role != "admin" {
				t.Errorf("rotated key %+v, want the old key's role and expiry", r.Key)
			}
			if got := a.callWith(r.Secret, http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusOK {
				t.Errorf("the rotated secret: %d, want 200", got)
			}
			if got := a.callWith(k.Secret, http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusUnauthorized {
				t.Errorf("the secret rotated away: %d, want 401", got)
			}

			a.clock.Set(expires)
			var e api.Error
			if got := a.callWith(r.Secret, http.MethodGet, "/v1/clinic", nil, &e); got != http.StatusUnauthorized || !strings.Contains(e.Message, "expired") {
				t.Errorf("at its expiry: %d %+v, want 401 expired", got, e)
			}
			if got := a.call(http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusOK {
				t.Errorf("a key without expiry at the same time: %d", got)
			}
		})
	}
}

// TestRateLimitPerKey: a key over its API limit gets 429 with Retry-After
// and the RateLimit fields, while another key of the clinic, and the same
// key's feeds, go on.
func TestRateLimitPerKey(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppEnv(t, backend, map[string]string{"BECKON_RATE_API": "3/m"})
			other := a.createKey(map[string]any{"role": "admin"}) // the first of 3
			for i := range 2 {
				if got := a.call(http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusOK {
					t.Fatalf("request %d of 3: %d", i+2, got)
				}
			}
			resp := rawCall(t, a, a.key, http.MethodGet, "/v1/clinic")
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request 4 of 3: %d, want 429", resp.StatusCode)
			}
			h := resp.Header
			if h.Get("Retry-After") == "" || h.Get("Retry-After") == "0" || h.Get("RateLimit-Limit") != "3" || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") == "" {
				t.Errorf("429 headers %v, want Retry-After and RateLimit-Limit 3, Remaining 0, Reset", h)
			}
			if got := a.callWith(other.Secret, http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusOK {
				t.Errorf("another key: %d, want 200", got)
			}
			if got := a.call(http.MethodGet, "/fhir/r4/Appointment/nope", nil, nil); got != http.StatusNotFound {
				t.Errorf("the same key's feeds (their own limit): %d, want 404", got)
			}
		})
	}
}

// TestFailedAuthenticationsThrottled: wrong keys are answered 401 and
// logged at warn with their prefix and the client address, never the key;
// past the limit the address is answered 429 before any key is checked,
// a valid one included.
func TestFailedAuthenticationsThrottled(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppEnv(t, backend, map[string]string{"BECKON_AUTH_FAILURES": "3/m"})
			// The bucket of this address may hold failures of an earlier run
			// on the same Redis.
			_ = a.m.App.Redis().Del(context.Background(), "rate:beckon:authfail:127.0.0.1").Err()
			wrong := "bk_wrongkeyabcdefghijklmnopqrstuvwxyz234567"
			for i := range 3 {
				if got := a.callWith(wrong, http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusUnauthorized {
					t.Fatalf("wrong key %d: %d, want 401", i+1, got)
				}
			}
			resp := rawCall(t, a, wrong, http.MethodGet, "/v1/clinic")
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Errorf("wrong key 4: %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if got := a.call(http.MethodGet, "/v1/clinic", nil, nil); got != http.StatusTooManyRequests {
				t.Errorf("a valid key from the throttled address: %d, want 429", got)
			}
			logs := a.logs.String()
			if n := strings.Count(logs, "api key refused"); n != 3 {
				t.Errorf("%d refusals logged, want 3:\n%s", n, logs)
			}
			line := lineWith(logs, "api key refused")
			for _, want := range []string{"level=WARN", "key_prefix=bk_wrongke", "client=127.0.0.1", "reason=unknown"} {
				if !strings.Contains(line, want) {
					t.Errorf("refusal logged as %q, want %s", line, want)
				}
			}
			if strings.Contains(logs, wrong) || strings.Contains(logs, wrong[:11]) {
				t.Errorf("the logs hold more of the key than its prefix")
			}
		})
	}
}

// rawCall makes a request and returns the response (body closed).
func rawCall(t *testing.T, a *app, key, method, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
