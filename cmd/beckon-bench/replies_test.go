package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRepliesPhase runs the replies phase briefly (on PostgreSQL and Redis
// when DATABASE_URL and REDIS_URL are set, else embedded) and checks that
// every reply was accepted and produced one confirmation and one answer at
// the stand-in, in both runs, and that the figures are there. It asserts
// nothing about speed.
func TestRepliesPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("sends reminders and replies through the whole stack for about half a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := config{
		duration:     2 * time.Second,
		replyRate:    10,
		replies:      30,
		concurrency:  50,
		pollInterval: 100 * time.Millisecond,
		due:          dueWholeSeconds,
		phases:       "replies",
		senderRate:   1e6,
	}
	results, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range results {
		if r.Phase != "replies" {
			t.Errorf("result of phase %q", r.Phase)
		}
		got[r.Metric] = r.Value
	}
	for run, posted := range map[string]float64{"at 10/s": 20, "as fast as possible": 30} {
		figure := func(m string) float64 {
			t.Helper()
			v, ok := got[m+" ("+run+")"]
			if !ok {
				t.Errorf("no %q (%s) in %v", m, run, got)
			}
			return v
		}
		if n := figure("replies posted"); n != posted {
			t.Errorf("%s: replies posted = %v, want %v", run, n, posted)
		}
		for _, m := range []string{"webhooks refused or failed", "confirmations missing", "confirmations duplicated", "answers missing at the stand-in", "answers duplicated at the stand-in"} {
			if v := figure(m); v != 0 {
				t.Errorf("%s: %s = %v, want 0", run, m, v)
			}
		}
		if v := figure("replies/s end to end (answer at the stand-in)"); v <= 0 {
			t.Errorf("%s: replies/s end to end = %v", run, v)
		}
	}
	for _, q := range []string{"p50", "p99", "max"} {
		if v := got["webhook → confirmation recorded "+q+" (at 10/s)"]; v <= 0 {
			t.Errorf("webhook → confirmation recorded %s = %v, want a positive latency", q, v)
		}
	}
	if p50, p99 := got["webhook → answer at the stand-in p50 (at 10/s)"], got["webhook → answer at the stand-in p99 (at 10/s)"]; p50 <= 0 || p99 < p50 {
		t.Errorf("webhook → answer p50 %v, p99 %v", p50, p99)
	}
	if got["webhook → answer at the stand-in p50 (at 10/s)"] < got["webhook → confirmation recorded p50 (at 10/s)"] {
		t.Errorf("answers reached the stand-in before their confirmations were recorded: %v", got)
	}
	for m := range got {
		if strings.Contains(m, "accepted/s") && got[m] <= 0 {
			t.Errorf("%s = %v", m, got[m])
		}
	}
}
