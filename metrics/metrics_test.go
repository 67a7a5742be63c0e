package metrics

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"
)

func newTest(t *testing.T) *Metrics {
	t.Helper()
	return New(slog.New(slog.DiscardHandler))
}

// gather is every sample of name as "label=value,..." → value.
func gather(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			out[labels(s)] = sample(s)
		}
	}
	return out
}

func labels(s *dto.Metric) string {
	var parts []string
	for _, l := range s.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

func sample(s *dto.Metric) float64 {
	switch {
	case s.GetCounter() != nil:
		return s.GetCounter().GetValue()
	case s.GetGauge() != nil:
		return s.GetGauge().GetValue()
	case s.GetHistogram() != nil:
		return float64(s.GetHistogram().GetSampleCount())
	}
	return 0
}

// A value outside a label's fixed set is counted as other: a caller cannot
// put an id, a phone number or any unbounded value in a label.
func TestLabelsStayBounded(t *testing.T) {
	t.Parallel()
	m := newTest(t)
	m.SendEnded("sms", "sent")
	m.SendEnded("", "skipped")
	m.SendEnded("+14155550123", "snd_01JABCDEFGHJKMNPQRSTVWXYZ0")
	m.ProviderRequest("twilio", "ok", 20*time.Millisecond)
	m.ProviderRequest("evil.example", "pat_1", time.Second)
	m.FeedMessage("hl7", "accepted")
	m.FeedMessage("ana@example.com", "rejected")
	m.EventDelivery("delivered")
	m.EventDelivery("whd_01JABC")
	m.InboundMessage("opt_out")
	m.InboundMessage("free text from a patient")
	checks := []struct {
		name string
		want map[string]float64
	}{
		{"beckon_sends_total", map[string]float64{"channel=sms,status=sent": 1, "channel=none,status=skipped": 1, "channel=other,status=other": 1}},
		{"beckon_provider_requests_total", map[string]float64{"outcome=ok,provider=twilio": 1, "outcome=other,provider=other": 1}},
		{"beckon_feed_messages_total", map[string]float64{"outcome=accepted,source=hl7": 1, "outcome=rejected,source=other": 1}},
		{"beckon_webhook_deliveries_total", map[string]float64{"outcome=delivered": 1, "outcome=other": 1}},
		{"beckon_inbound_messages_total", map[string]float64{"intent=opt_out": 1, "intent=other": 1}},
	}
	for _, c := range checks {
		got := gather(t, m, c.name)
		if len(got) != len(c.want) {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s{%s} = %v, want %v (all: %v)", c.name, k, got[k], v, got)
			}
		}
	}
}

// Lateness lands in its bucket by channel; an early call counts as on
// time; HTTP requests are counted by pattern and status class.
func TestHistogramsAndClasses(t *testing.T) {
	t.Parallel()
	m := newTest(t)
	m.SendLateness("sms", 300*time.Millisecond)
	m.SendLateness("sms", -time.Second)
	m.PaceWait(2 * time.Second)
	m.HTTPRequest("GET /v1/patients/{id}", 404, 3*time.Millisecond)
	m.HTTPRequest("GET /v1/patients/{id}", 200, 3*time.Millisecond)
	m.HTTPRequest("", 405, time.Millisecond)
	m.HTTPRequest("POST /hl7/v2", 0, time.Millisecond)

	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "beckon_send_lateness_seconds" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 || h.GetSampleSum() != 0.3 {
			t.Errorf("lateness count %d sum %v, want 2 and 0.3", h.GetSampleCount(), h.GetSampleSum())
		}
		if b := h.GetBucket()[0]; b.GetUpperBound() != 0.01 || b.GetCumulativeCount() != 1 {
			t.Errorf("first lateness bucket %v ≤ %v, want 1 ≤ 0.01 (10 ms)", b.GetCumulativeCount(), b.GetUpperBound())
		}
		if last := h.GetBucket()[len(h.GetBucket())-1]; last.GetUpperBound() != 600 {
			t.Errorf("last lateness bucket %v, want 600 (10 min)", last.GetUpperBound())
		}
	}
	got := gather(t, m, "beckon_http_requests_total")
	want := map[string]float64{
		"code=4xx,route=GET /v1/patients/{id}": 1, "code=2xx,route=GET /v1/patients/{id}": 1,
		"code=4xx,route=unmatched": 1, "code=other,route=POST /hl7/v2": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("requests{%s} = %v, want %v (all %v)", k, got[k], v, got)
		}
	}
	if n := gather(t, m, "beckon_pacing_wait_seconds")[""]; n != 1 {
		t.Errorf("pacing waits = %v, want 1", n)
	}
}

// A nil *Metrics counts nothing and does not fail.
func TestNilMetrics(t *testing.T) {
	t.Parallel()
	var m *Metrics
	m.SendEnded("sms", "sent")
	m.SendLateness("sms", time.Second)
	m.ProviderRequest("twilio", "ok", time.Second)
	m.PaceWait(time.Second)
	m.FeedMessage("hl7", "accepted")
	m.EventDelivery("delivered")
	m.InboundMessage("confirm")
	m.HTTPRequest("GET /healthz", 200, time.Second)
}

// fakeInspector is a QueueInspector that counts its reads and fails on demand.
type fakeInspector struct {
	mu    sync.Mutex
	reads int
	fail  bool
}

func (f *fakeInspector) Queues() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail {
		return nil, errors.New("redis down")
	}
	return []string{"sends"}, nil
}

func (f *fakeInspector) GetQueueInfo(q string) (*asynq.QueueInfo, error) {
	return &asynq.QueueInfo{Queue: q, Pending: 3, Active: 2, Scheduled: 7, Retry: 1, Latency: 1500 * time.Millisecond}, nil
}

func (f *fakeInspector) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// The queues are read on scrape, once per TTL; a failed read leaves them
// out and is tried again on the next scrape.
func TestQueueCollector(t *testing.T) {
	t.Parallel()
	m := newTest(t)
	insp := &fakeInspector{fail: true}
	m.WatchQueues(insp, time.Hour)
	if got := gather(t, m, "beckon_queue_tasks"); len(got) != 0 {
		t.Errorf("queues while Redis is down = %v, want none", got)
	}
	insp.mu.Lock()
	insp.fail = false
	insp.mu.Unlock()
	got := gather(t, m, "beckon_queue_tasks")
	for k, v := range map[string]float64{"queue=sends,state=pending": 3, "queue=sends,state=active": 2, "queue=sends,state=scheduled": 7, "queue=sends,state=retry": 1} {
		if got[k] != v {
			t.Errorf("beckon_queue_tasks{%s} = %v, want %v", k, got[k], v)
		}
	}
	if age := gather(t, m, "beckon_queue_oldest_pending_seconds")["queue=sends"]; age != 1.5 {
		t.Errorf("oldest pending = %v, want 1.5", age)
	}
	if n := insp.count(); n != 2 {
		t.Errorf("inspector read %d times: a failed scrape, then two within the TTL; want 2 (the failure is not cached)", n)
	}
}

// The sends due are counted on scrape at the given clock's time, once per
// TTL; a failed count leaves the gauge out.
func TestDueCollector(t *testing.T) {
	t.Parallel()
	m := newTest(t)
	at := time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	calls, fail := 0, false
	m.WatchDue(func(_ context.Context, before time.Time) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if !before.Equal(at) {
			t.Errorf("counted due before %s, want the clock's %s", before, at)
		}
		if fail {
			return 0, errors.New("database down")
		}
		return 42, nil
	}, func() time.Time { return at }, time.Hour)
	if n := gather(t, m, "beckon_sends_due_unqueued")[""]; n != 42 {
		t.Errorf("due = %v, want 42", n)
	}
	gather(t, m, "beckon_sends_due_unqueued")
	mu.Lock()
	if calls != 1 {
		t.Errorf("%d counts for two scrapes within the TTL, want 1", calls)
	}
	mu.Unlock()

	m2 := newTest(t)
	fail = true
	m2.WatchDue(func(context.Context, time.Time) (int, error) { return 0, errors.New("database down") }, func() time.Time { return at }, time.Hour)
	if got := gather(t, m2, "beckon_sends_due_unqueued"); len(got) != 0 {
		t.Errorf("due after a failed count = %v, want no sample", got)
	}
}

// The pool's statistics are read on every scrape.
func TestDBCollector(t *testing.T) {
	t.Parallel()
	m := newTest(t)
	m.WatchDB(func() sql.DBStats {
		return sql.DBStats{MaxOpenConnections: 30, OpenConnections: 5, InUse: 4, Idle: 1, WaitCount: 9, WaitDuration: 2 * time.Second}
	})
	for name, want := range map[string]float64{
		"beckon_db_max_open_connections": 30, "beckon_db_open_connections": 5, "beckon_db_in_use_connections": 4,
		"beckon_db_idle_connections": 1, "beckon_db_wait_count_total": 9, "beckon_db_wait_duration_seconds_total": 2,
	} {
		if got := gather(t, m, name)[""]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// The handler answers the text format with Beckon's, the runtime's and the
// process's metrics.
func TestHandler(t *testing.T) {
	t.Parallel()
	m := newTest(t)
	m.SendEnded("email", "failed")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{`beckon_sends_total{channel="email",status="failed"} 1`, "go_goroutines ", "process_start_time_seconds "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in the answer", want)
		}
	}
}
