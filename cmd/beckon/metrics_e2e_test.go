package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// idLike matches Beckon's generated ids (a prefix and Crockford base32).
var idLike = regexp.MustCompile(`(apt|aud|bk|clm|cln|cmp|cnf|cns|ev|evt|inb|key|lim|lnk|mev|msg|obx|pat|req|sin|snd|wbk|whd|whsec)_[0-9A-Z]{6,}`)

// TestMetricsAfterDelivery delivers a reminder and scrapes /metrics on the
// API address: the send is counted as sent by sms, its lateness observed,
// the API requests counted by route pattern, the queue and pool gauges
// there, and no label value is PHI or an id.
func TestMetricsAfterDelivery(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppClock(t, backend, nil)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
				"name": "Metrics Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/metered", map[string]any{
				"name": "Metered",
				"steps": []map[string]any{{"id": "only", "offset": "-20s", "channel": "sms", "content": map[string]any{
					"en": map[string]any{"text": "Hi {{.Patient.FirstName}}, see you soon."},
				}}},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/pat-metrics-1", map[string]any{
				"first_name": "Ana", "last_name": "Lopez", "phone": phone, "email": email, "time_zone": "America/Chicago",
			}, nil)
			var appt appointmentView
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/apt-metrics-1", map[string]any{
				"patient_id": "pat-metrics-1", "start": rfc(a.now().Add(30 * time.Second).Truncate(time.Second)), "type": "checkup",
			}, &appt)
			send := appt.send("only", 1)
			a.advanceTo(send.DueAt)
			a.waitDelivered(send)

			// The send is counted once its record is stored, just after the
			// outbox has it.
			var fams map[string]*dto.MetricFamily
			waitFor(t, 10*time.Second, "the send counted in /metrics", func() bool {
				fams = scrape(t, a.base+"/metrics", "")
				return value(fams, "beckon_sends_total", map[string]string{"status": "sent", "channel": "sms"}) >= 1
			})
			if n := histogramCount(fams, "beckon_send_lateness_seconds", map[string]string{"channel": "sms"}); n < 1 {
				t.Errorf("lateness observations for sms = %d, want at least 1", n)
			}
			if n := value(fams, "beckon_provider_requests_total", map[string]string{"provider": "outbox", "outcome": "ok"}); n < 1 {
				t.Errorf("outbox provider requests ok = %v, want at least 1", n)
			}
			route := map[string]string{"route": "PUT /v1/appointments/{id}", "code": "2xx"}
			if n := value(fams, "beckon_http_requests_total", route); n < 1 {
				t.Errorf("requests counted for %v = %v, want at least 1", route, n)
			}
			if n := value(fams, "beckon_feed_messages_total", map[string]string{"source": "rest", "outcome": "accepted"}); n < 1 {
				t.Errorf("rest feed messages accepted = %v, want at least 1", n)
			}
			if _, ok := find(fams, "beckon_queue_tasks", map[string]string{"queue": a.queue, "state": "pending"}); !ok {
				t.Errorf("no beckon_queue_tasks for queue %s", a.queue)
			}
			for _, name := range []string{"beckon_queue_oldest_pending_seconds", "beckon_sends_due_unqueued", "beckon_db_open_connections", "go_goroutines", "process_start_time_seconds"} {
				if fams[name] == nil {
					t.Errorf("no %s in /metrics", name)
				}
			}

			// No label value is PHI or an id, and no route is a raw path.
			forbidden := []string{phone, strings.TrimPrefix(phone, "+"), email, "Ana", "Lopez", "pat-metrics-1", "apt-metrics-1", a.m.App.DemoClinicID, send.ID}
			for name, f := range fams {
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						v := l.GetValue()
						for _, bad := range forbidden {
							if bad != "" && strings.Contains(v, bad) {
								t.Errorf("%s{%s=%q} carries %q", name, l.GetName(), v, bad)
							}
						}
						if idLike.MatchString(v) {
							t.Errorf("%s{%s=%q} carries an id", name, l.GetName(), v)
						}
					}
				}
			}
		})
	}
}

// TestMetricsOwnAddress: with BECKON_METRICS_ADDR, /metrics is served
// there without a key, and no longer on the API address.
func TestMetricsOwnAddress(t *testing.T) {
	t.Parallel()
	a := startAppEnv(t, "embedded", map[string]string{"BECKON_METRICS_ADDR": "127.0.0.1:0"})
	addr := a.m.App.MetricsAddr()
	if addr == "" {
		t.Fatal("no metrics address")
	}
	a.mustCall(http.StatusOK, http.MethodGet, "/v1/clinic", nil, nil)
	fams := scrape(t, "http://"+addr+"/metrics", "")
	if n := value(fams, "beckon_http_requests_total", map[string]string{"route": "GET /v1/clinic", "code": "2xx"}); n < 1 {
		t.Errorf("GET /v1/clinic counted %v times, want at least 1", n)
	}
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the API address = %d, want 404 when BECKON_METRICS_ADDR is set", resp.StatusCode)
	}
}

// scrape reads a /metrics answer in the text format.
func scrape(t *testing.T, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, raw)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// find is the metric of the family whose labels include want.
func find(fams map[string]*dto.MetricFamily, name string, want map[string]string) (*dto.Metric, bool) {
	f := fams[name]
	if f == nil {
		return nil, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

// value is a counter's or gauge's value, 0 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	m, ok := find(fams, name, labels)
	if !ok {
		return 0
	}
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

// histogramCount is a histogram's count of observations, 0 when absent.
func histogramCount(fams map[string]*dto.MetricFamily, name string, labels map[string]string) uint64 {
	m, ok := find(fams, name, labels)
	if !ok {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}
