package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// startRole starts an App for role on a SQLite file of its own and the
// given Redis, with env over the settings every case needs.
func startRole(t *testing.T, role, redisAddr string, env map[string]string) (a *App, logs func() string, err error) {
	t.Helper()
	all := map[string]string{
		"BECKON_DATABASE_URL": filepath.Join(t.TempDir(), "beckon.db"),
		"BECKON_REDIS_URL":    "redis://" + redisAddr,
		"BECKON_HTTP_ADDR":    "127.0.0.1:0",
		"BECKON_DEMO":         "false",
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := ConfigFromEnv(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(role); err != nil {
		t.Fatal(err)
	}
	// The logs go to a file: writes to it are safe from every goroutine.
	path := filepath.Join(t.TempDir(), "logs")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	logs = func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	a = New(cfg, role)
	a.Stdout, a.Stderr = io.Discard, f
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return a, logs, a.Start(context.Background())
}

// TestRolesStartTheirParts: each role starts its parts and no others, and
// provider settings that are not valid stop the worker from starting while
// the API starts, logs them (without the secret) and serves.
func TestRolesStartTheirParts(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	bad := map[string]string{"BECKON_TWILIO_ACCOUNT_SID": "AC1", "BECKON_TWILIO_AUTH_TOKEN": "tok123secret"} // no sender

	if _, _, err := startRole(t, RoleWorker, mr.Addr(), bad); err == nil || !strings.Contains(err.Error(), "BECKON_TWILIO_FROM") {
		t.Fatalf("worker with invalid provider settings: %v, want a refusal naming BECKON_TWILIO_FROM", err)
	}

	a, logs, err := startRole(t, RoleAPI, mr.Addr(), bad)
	if err != nil {
		t.Fatalf("api with invalid provider settings: %v", err)
	}
	if a.Addr() == "" || a.Pump() != nil || a.worker != nil {
		t.Fatalf("api role: addr %q, pump %v, worker %v; want the API only", a.Addr(), a.Pump(), a.worker)
	}
	if out := logs(); !strings.Contains(out, "provider settings are not valid") || strings.Contains(out, "tok123secret") {
		t.Fatalf("api logs: %s", out)
	}

	s, _, err := startRole(t, RoleScheduler, mr.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" || s.Pump() == nil || s.worker != nil {
		t.Fatalf("scheduler role: addr %q, pump %v, worker %v; want the pump only", s.Addr(), s.Pump(), s.worker)
	}
	if s.Retention() == nil || a.Retention() != nil {
		t.Fatalf("retention job: scheduler %v, api %v; want it in the scheduler only", s.Retention(), a.Retention())
	}

	w, _, err := startRole(t, RoleWorker, mr.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Addr() != "" || w.Pump() != nil || w.worker == nil {
		t.Fatalf("worker role: addr %q, pump %v, worker %v; want the worker only", w.Addr(), w.Pump(), w.worker)
	}
	w.StopDelivery()
	if w.worker != nil {
		t.Fatal("StopDelivery left the worker running")
	}
	if err := w.StartDelivery(context.Background()); err != nil || w.worker == nil {
		t.Fatalf("StartDelivery: %v, worker %v", err, w.worker)
	}
}
