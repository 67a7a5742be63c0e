package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// recorder is an api.Metrics that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	requests []string // pattern and status
	feeds    []string // source and outcome
}

func (r *recorder) HTTPRequest(pattern string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, pattern+" "+http.StatusText(status))
}

func (r *recorder) FeedMessage(source, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.feeds = append(r.feeds, source+" "+outcome)
}

func (r *recorder) seen() (requests, feeds []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...), append([]string(nil), r.feeds...)
}

// metricsServer is an API with a recorder and a /metrics handler that
// answers "scraped", behind token when set.
func metricsServer(t *testing.T, token string) (*httptest.Server, *recorder, string) {
	t.Helper()
	st := storetest.Open(t)
	logger := slog.New(slog.DiscardHandler)
	rec := &recorder{}
	s := api.New(api.Config{
		Store:   st,
		Service: &scheduler.Service{Store: st, Clock: beckon.SystemClock{}, Logger: logger},
		Clock:   beckon.SystemClock{},
		Logger:  logger,
		Metrics: rec,
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("scraped"))
		}),
		MetricsToken: token,
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	b := &bundle{t: t, st: st, srv: srv}
	c := storetest.Clinic(t, st, storetest.ClinicOpts{Name: "A"})
	return srv, rec, b.key(c.ID, beckon.RoleAdmin)
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Requests are counted by the mux's pattern, never the path; a path no
// route matches is "unmatched"; the REST appointment routes are feed
// messages counted by their answer.
func TestMetricsCountRoutePatterns(t *testing.T) {
	t.Parallel()
	srv, rec, key := metricsServer(t, "")
	b := &bundle{t: t, srv: srv}
	b.must(key, http.MethodGet, "/v1/patients/pat-secret-9", nil, http.StatusNotFound)
	b.must(key, http.MethodPut, "/v1/appointments/apt-9", map[string]any{"patient_id": "nobody"}, http.StatusUnprocessableEntity)
	b.must("", http.MethodGet, "/no/such/route/+14155550123", nil, http.StatusNotFound)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hl7/v2", strings.NewReader("not an HL7 message"))
	req.Header.Set("Content-Type", "x-application/hl7-v2+er7")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	requests, feeds := rec.seen()
	want := []string{"GET /v1/patients/{id} Not Found", "PUT /v1/appointments/{id} Unprocessable Entity", " Not Found", "POST /hl7/v2 " + http.StatusText(resp.StatusCode)}
	if len(requests) != len(want) {
		t.Fatalf("requests counted %q, want %q", requests, want)
	}
	for i := range want {
		if requests[i] != want[i] {
			t.Errorf("request %d counted as %q, want %q", i, requests[i], want[i])
		}
	}
	if len(feeds) != 2 || feeds[0] != "rest rejected" || feeds[1] != "hl7 rejected" {
		t.Errorf("feed messages %q, want rest rejected, hl7 rejected", feeds)
	}
}

// /metrics on the API address is public without a token, and asks for
// the token when one is set; the OpenAPI document describes it either way.
func TestMetricsRouteToken(t *testing.T) {
	t.Parallel()
	open, _, _ := metricsServer(t, "")
	if st := get(t, open.URL+"/metrics", ""); st != http.StatusOK {
		t.Errorf("public /metrics = %d, want 200", st)
	}
	guarded, _, key := metricsServer(t, "scrape-token-1")
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {key, http.StatusUnauthorized}, {"scrape-token-1", http.StatusOK}} {
		if st := get(t, guarded.URL+"/metrics", c.token); st != c.want {
			t.Errorf("/metrics with token %q = %d, want %d", c.token, st, c.want)
		}
	}
	resp, err := http.Get(guarded.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	op, ok := doc.Paths[api.MetricsPath]["get"]
	if !ok {
		t.Fatal("GET /metrics is not in the OpenAPI document")
	}
	if len(op.Security) != 1 || op.Security[0]["metricsToken"] == nil {
		t.Errorf("GET /metrics security = %v, want the metricsToken scheme", op.Security)
	}
}

// Without a handler there is no /metrics route, and none documented.
func TestMetricsRouteAbsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if st := get(t, b.srv.URL+"/metrics", ""); st != http.StatusNotFound {
		t.Errorf("/metrics without a handler = %d, want 404", st)
	}
}
