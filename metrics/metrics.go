// Package metrics owns Beckon's Prometheus registry and every collector:
// what the worker, the API and the feeds count (through the hooks each of
// those packages declares, which *Metrics implements), and what is read on
// scrape (asynq queues, sends due but not queued, the database pool, the Go
// runtime and the process).
//
// No label carries PHI or an unbounded value: label values come from fixed
// sets (an unknown value is counted as "other"), route patterns, and the
// operator's queue names; never a patient, appointment, message, send or
// clinic id.
package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Histogram buckets, in seconds.
var (
	// latenessBuckets: from 10 ms to 10 min after the due time.
	latenessBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	// providerBuckets: one provider call, bounded by the send timeout.
	providerBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// paceBuckets: a wait for the sender's slot, bounded by BECKON_PACE_MAX_WAIT.
	paceBuckets = []float64{0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60}
	// httpBuckets: one API request.
	httpBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Metrics is the registry and its collectors. Its methods are safe for
// concurrent use, and for a nil *Metrics (they do nothing).
type Metrics struct {
	reg    *prometheus.Registry
	logger *slog.Logger

	sends            *prometheus.CounterVec
	lateness         *prometheus.HistogramVec
	providerRequests *prometheus.CounterVec
	providerDuration *prometheus.HistogramVec
	paceWait         prometheus.Histogram
	feedMessages     *prometheus.CounterVec
	eventDeliveries  *prometheus.CounterVec
	inbound          *prometheus.CounterVec
	httpRequests     *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec
}

// New returns the registry with Beckon's counters and histograms and the Go
// runtime and process collectors. logger (nil: slog.Default) takes what
// fails on scrape.
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.Default()
	}
	m := &Metrics{reg: prometheus.NewRegistry(), logger: logger.With(slog.String("component", "metrics"))}
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beckon_sends_total",
		Help: "Sends that ended, by final status (sent, skipped, superseded, failed, unknown) and channel (sms, email, none when ended before one was chosen).",
	}, []string{"status", "channel"})
	m.lateness = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "beckon_send_lateness_seconds",
		Help:    "Provider call time minus the send's due time, by channel.",
		Buckets: latenessBuckets,
	}, []string{"channel"})
	m.providerRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beckon_provider_requests_total",
		Help: "Provider calls by provider (twilio, sendgrid, outbox) and outcome (ok, transient, permanent, unknown).",
	}, []string{"provider", "outcome"})
	m.providerDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "beckon_provider_request_duration_seconds",
		Help:    "Provider call latency by provider.",
		Buckets: providerBuckets,
	}, []string{"provider"})
	m.paceWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "beckon_pacing_wait_seconds",
		Help:    "Wait for a sender's next rate slot before a provider call.",
		Buckets: paceBuckets,
	})
	m.feedMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beckon_feed_messages_total",
		Help: "EHR feed messages by source (hl7, fhir, rest) and outcome (accepted, rejected, error).",
	}, []string{"source", "outcome"})
	m.eventDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beckon_webhook_deliveries_total",
		Help: "Attempts to deliver an event to a clinic's webhook endpoint, by outcome (delivered, retrying, failed).",
	}, []string{"outcome"})
	m.inbound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beckon_inbound_messages_total",
		Help: "Patients' inbound messages interpreted, by intent.",
	}, []string{"intent"})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beckon_http_requests_total",
		Help: "API requests by route pattern (unmatched for none) and status class (2xx, 4xx...).",
	}, []string{"route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "beckon_http_request_duration_seconds",
		Help:    "API request duration by route pattern.",
		Buckets: httpBuckets,
	}, []string{"route"})
	m.reg.MustRegister(
		m.sends, m.lateness, m.providerRequests, m.providerDuration, m.paceWait,
		m.feedMessages, m.eventDeliveries, m.inbound, m.httpRequests, m.httpDuration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format; concurrent
// scrapes share one collection. A collector that fails is logged and left
// out of the answer.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:       slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
		ErrorHandling:  promhttp.ContinueOnError,
		Timeout:        10 * time.Second,
		CoalesceGather: true,
	})
}

// statusClass is "2xx" for 200..299 and so on; "other" outside 100..599.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return other
	}
	return strconv.Itoa(code/100) + "xx"
}
