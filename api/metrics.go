package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon/feeds"
)

// Metrics is what the API counts; package metrics implements it. Nil
// counts nothing.
type Metrics interface {
	feeds.Metrics
	// HTTPRequest: a request answered status, by its route pattern (the
	// mux's pattern, never the path; empty when no route matched).
	HTTPRequest(pattern string, status int, took time.Duration)
}

// MetricsPath is where the Prometheus metrics are served.
const MetricsPath = "/metrics"

// restFeedRoutes are the REST routes that are an EHR feed: each request
// is one feed message (a batch too), counted by its answer.
var restFeedRoutes = map[string]bool{
	"PUT /v1/appointments/{id}":   true,
	"POST /v1/appointments/batch": true,
}

// metered serves the request through serve and counts it by route pattern
// and status; a REST feed request is also counted as a feed message.
func (s *Server) metered(w http.ResponseWriter, r *http.Request, pattern string, serve func(http.ResponseWriter, *http.Request)) {
	m := s.cfg.Metrics
	if m == nil {
		serve(w, r)
		return
	}
	began := time.Now() // a measurement, not a decision
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		m.HTTPRequest(pattern, sw.code(), time.Since(began))
		if restFeedRoutes[pattern] {
			m.FeedMessage(feeds.SourceREST, feedOutcomeOf(sw.code()))
		}
	}()
	serve(sw, r)
}

// feedOutcomeOf is a REST feed answer's outcome: 2xx accepted, 5xx (and a
// request cut off) error, else rejected.
func feedOutcomeOf(status int) string {
	switch {
	case status >= 200 && status < 300:
		return feeds.OutcomeAccepted
	case status >= 500 || status == 0:
		return feeds.OutcomeError
	}
	return feeds.OutcomeRejected
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status answered; a handler that wrote nothing answered 200.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// registerMetrics serves Config.MetricsHandler at GET /metrics, behind
// Config.MetricsToken when it is set.
func (s *Server) registerMetrics() {
	h := s.cfg.MetricsHandler
	if h == nil {
		return
	}
	if token := s.cfg.MetricsToken; token != "" {
		want := sha256.Sum256([]byte(token))
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				writeError(w, newError(http.StatusUnauthorized, codeFor(http.StatusUnauthorized), "missing or wrong metrics token in the Authorization header (BECKON_METRICS_TOKEN)"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	s.handle("GET "+MetricsPath, h)
}

// metricsOperation documents GET /metrics when it is served.
func (s *Server) metricsOperation() *huma.Operation {
	if s.cfg.MetricsHandler == nil {
		return nil
	}
	o := &huma.Operation{
		OperationID: "metrics", Method: http.MethodGet, Path: MetricsPath, Tags: []string{"Operations"},
		Summary: "Prometheus metrics",
		Description: "Counters, histograms and gauges in the Prometheus text format. " +
			"No label carries PHI or an id. Public unless BECKON_METRICS_TOKEN is set; then the token as a bearer credential. " +
			"Not served here when BECKON_METRICS_ADDR names an address of its own.",
		Security: public,
		Responses: map[string]*huma.Response{
			"200": {Description: "The metrics", Content: map[string]*huma.MediaType{
				"text/plain": {Schema: &huma.Schema{Type: "string"}},
			}},
		},
	}
	if s.cfg.MetricsToken != "" {
		o.Security = []map[string][]string{{"metricsToken": {}}}
		o.Responses["401"] = errorResponse(http.StatusUnauthorized)
	}
	return o
}
