package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"

	"github.com/beckonhealth/beckon/store/storetest"
)

// backends are the (database, redis) pairs the end-to-end tests run on: the
// embedded defaults always, and the real servers when CI names them.
func backends() []string {
	b := []string{"embedded"}
	if os.Getenv("DATABASE_URL") != "" && os.Getenv("REDIS_URL") != "" {
		b = append(b, "servers")
	}
	return b
}

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// app is a running Beckon for one test.
type app struct {
	t     *testing.T
	m     *Main
	base  string
	key   string
	logs  *syncBuffer
	queue string
	// clock is the app's clock when the test drives it (startAppClock);
	// nil on the wall clock.
	clock *beckon.ManualClock
}

func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// startApp runs `beckon serve` in-process on the backend, with the settings a
// test needs (a queue of its own, a short recheck).
func startApp(t *testing.T, backend string) *app {
	t.Helper()
	return startAppEnv(t, backend, nil)
}

// startAppEnv is startApp with extra environment variables.
func startAppEnv(t *testing.T, backend string, extra map[string]string) *app {
	t.Helper()
	return startAppWith(t, backend, extra, nil)
}

// clockEnv is the configuration of an app whose clock the test drives. The
// pump hands to asynq only what is due within a second of the clock (so a
// send reaches a worker when the test moves the clock to its due time, not
// before), and looks again at a send still planned after half a second of the
// clock. A claim does not go stale when the test moves the clock by minutes.
var clockEnv = map[string]string{
	"BECKON_HORIZON":       "1s",
	"BECKON_RECHECK":       "500ms",
	"BECKON_CLAIM_TIMEOUT": "1h",
}

// startAppClock is startAppEnv on a clock the test moves (app.advanceTo),
// with clockEnv's settings under extra. The clock starts an hour behind the
// wall clock: asynq schedules on the wall clock, so every task the pump hands
// it is due for asynq at once and reaches a worker within a poll interval;
// the app's own clock alone decides what is due.
func startAppClock(t *testing.T, backend string, extra map[string]string) *app {
	t.Helper()
	env := map[string]string{}
	for k, v := range clockEnv {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	clock := beckon.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	return startAppWith(t, backend, env, clock)
}

// now is the app's time: its clock's, or the wall clock's.
func (a *app) now() time.Time {
	if a.clock != nil {
		return a.clock.Now()
	}
	return time.Now()
}

// advanceTo moves the app's clock to at (never back) and runs a pump pass
// there, so that every send due by then is in asynq when it returns. A pass
// that fails (Redis just came back) is run again, for up to 20 s.
func (a *app) advanceTo(at time.Time) {
	a.t.Helper()
	if a.clock == nil {
		a.t.Fatal("advanceTo: the app runs on the wall clock")
	}
	if at.Before(a.clock.Now()) {
		a.t.Fatalf("advanceTo %s: the clock is already at %s", at, a.clock.Now())
	}
	a.clock.Set(at)
	var err error
	waitFor(a.t, 20*time.Second, "a pump pass at "+at.Format(time.RFC3339Nano), func() bool {
		_, err = a.m.App.Pump().RunOnce(context.Background())
		return err == nil
	})
}

// runClock makes the app's clock follow the wall clock from where it is,
// until the test ends: for a test that moved the clock to what it waited
// for and then needs time to pass at its own pace (retry delays, provider
// timeouts, claim timeouts). advanceTo is not used after it.
func (a *app) runClock() {
	a.t.Helper()
	if a.clock == nil {
		a.t.Fatal("runClock: the app runs on the wall clock")
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				a.clock.Advance(now.Sub(last))
				last = now
			}
		}
	}()
	a.t.Cleanup(func() {
		close(stop)
		<-done
	})
}

func startAppWith(t *testing.T, backend string, extra map[string]string, clock *beckon.ManualClock) *app {
	t.Helper()
	env := map[string]string{
		"BECKON_HTTP_ADDR":     "127.0.0.1:0",
		"BECKON_QUEUE":         randomName("e2e-"),
		"BECKON_RECHECK":       "2s",
		"BECKON_POLL_INTERVAL": "50ms",
		"BECKON_LOG_LEVEL":     "debug",
		// The tests' EHRs and webhooks are httptest servers on loopback.
		"BECKON_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
	}
	switch backend {
	case "embedded":
		env["BECKON_DATABASE_URL"] = filepath.Join(t.TempDir(), "beckon.db")
	case "servers":
		env["BECKON_DATABASE_URL"] = storetest.PostgresSchema(t, os.Getenv("DATABASE_URL"))
		env["BECKON_SECRET_KEY"] = storetest.Key
		env["BECKON_REDIS_URL"] = os.Getenv("REDIS_URL")
	}
	for k, v := range extra {
		env[k] = v
	}
	logs := &syncBuffer{}
	m := NewMain()
	m.Stdout = io.Discard
	m.Stderr = logs
	m.Getenv = func(k string) string { return env[k] }
	if clock != nil {
		m.Clock = clock
	}
	ctx := context.Background()
	if err := m.ParseFlags(ctx, []string{"serve"}); err != nil {
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
	if m.App.DemoKey == "" {
		t.Fatal("serve on an empty database printed no demo key")
	}
	return &app{t: t, m: m, base: "http://" + m.App.Addr(), key: m.App.DemoKey, logs: logs, queue: env["BECKON_QUEUE"], clock: clock}
}

// call makes an API request with the app's key and decodes the JSON answer.
func (a *app) call(method, path string, body any, out any) int {
	a.t.Helper()
	return a.callWith(a.key, method, path, body, out)
}

func (a *app) callWith(key, method, path string, body any, out any) int {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// mustCall fails the test unless the status is want.
func (a *app) mustCall(want int, method, path string, body any, out any) {
	a.t.Helper()
	var raw json.RawMessage
	got := a.call(method, path, body, &raw)
	if got != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatal(err)
		}
	}
}

type outboxEntry struct {
	ID        string            `json:"id"`
	SendID    string            `json:"send_id"`
	Channel   string            `json:"channel"`
	To        string            `json:"to"`
	Subject   string            `json:"subject"`
	Body      string            `json:"body"`
	HTML      string            `json:"html"`
	Headers   map[string]string `json:"headers"`
	CreatedAt time.Time         `json:"created_at"`
}

func (a *app) outbox() []outboxEntry {
	a.t.Helper()
	var out struct {
		Entries []outboxEntry `json:"entries"`
	}
	a.mustCall(http.StatusOK, http.MethodGet, "/v1/outbox?limit=500", nil, &out)
	return out.Entries
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// entryFor returns the outbox entry of a send.
func entryFor(entries []outboxEntry, sendID string) (outboxEntry, bool) {
	for _, e := range entries {
		if e.SendID == sendID {
			return e, true
		}
	}
	return outboxEntry{}, false
}

type sendView struct {
	ID                 string    `json:"id"`
	StepID             string    `json:"step_id"`
	DueAt              time.Time `json:"due_at"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason"`
	AppointmentVersion int64     `json:"appointment_version"`
}

type appointmentView struct {
	ID           string     `json:"id"`
	Version      int64      `json:"version"`
	Status       string     `json:"status"`
	Confirmation string     `json:"confirmation"`
	Sends        []sendView `json:"sends"`
}

func (v appointmentView) send(step string, version int64) sendView {
	for _, s := range v.Sends {
		if s.StepID == step && s.AppointmentVersion == version {
			return s
		}
	}
	return sendView{}
}

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

func assertNoPHI(t *testing.T, logs string, phi ...string) {
	t.Helper()
	if logs == "" {
		t.Fatal("no logs were captured")
	}
	for _, s := range phi {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("logs contain PHI %q", s)
		}
	}
}
