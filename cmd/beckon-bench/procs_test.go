package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the Twilio stand-in, as the bench
// binary does (the stack starts its own executable with -standin).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == standInFlag {
		serveStandIn()
		return
	}
	os.Exit(m.Run())
}

// TestProcsPhase runs the procs phase briefly, on PostgreSQL and Redis when
// DATABASE_URL and REDIS_URL are set, else on the embedded defaults (the
// beckon processes then share the SQLite file and reach the in-process
// Redis over loopback), and checks that every send arrives and the figures
// are there. It asserts nothing about speed.
func TestProcsPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the beckon binary and runs it for about half a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := config{
		rate:         10,
		duration:     2 * time.Second,
		concurrency:  20,
		pollInterval: 100 * time.Millisecond,
		due:          dueWholeSeconds,
		phases:       "procs",
		workers:      1,
		schedulers:   1,
		senderRate:   1e6,
	}
	results, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range results {
		if r.Phase != "procs" {
			t.Errorf("result of phase %q", r.Phase)
		}
		got[r.Metric] = r.Value
	}
	if got["sends"] != 20 {
		t.Errorf("sends = %v, want 20 (every send reached the stand-in once)", got["sends"])
	}
	for _, m := range []string{"lateness p50", "lateness p99", "lateness max", "sent early", "worker processes' CPU per message", "peak RSS of a worker process"} {
		if _, ok := got[m]; !ok {
			t.Errorf("no %q in %v", m, got)
		}
	}
	if got["lateness max"] < got["lateness p50"] {
		t.Errorf("lateness max %v < p50 %v", got["lateness max"], got["lateness p50"])
	}
	if got["peak RSS of a worker process"] <= 0 {
		t.Errorf("peak RSS of a worker process = %v", got["peak RSS of a worker process"])
	}
}
