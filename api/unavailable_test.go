package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// exhaustedStore answers as the store does when PostgreSQL is out of
// connections, once switched on: its reads and transactions fail with
// SQLSTATE 53300 (or a connection that cannot be made), wrapped in
// beckon.ErrUnavailable as the store wraps every such driver error.
type exhaustedStore struct {
	beckon.Store
	on, keys atomic.Bool
}

var tooManyClients = &pgconn.PgError{Severity: "FATAL", Code: "53300", Message: "sorry, too many clients already"}

func (s *exhaustedStore) InTx(ctx context.Context, fn func(q beckon.Querier) error) error {
	if s.on.Load() {
		return fmt.Errorf("store: begin: %w: %w", beckon.ErrUnavailable, tooManyClients)
	}
	return s.Store.InTx(ctx, fn)
}

func (s *exhaustedStore) PatientGet(ctx context.Context, clinicID, id string) (beckon.Patient, error) {
	if s.on.Load() {
		return beckon.Patient{}, fmt.Errorf("store: patient get: %w: %w", beckon.ErrUnavailable, &pgconn.ConnectError{})
	}
	return s.Store.PatientGet(ctx, clinicID, id)
}

func (s *exhaustedStore) APIKeyGetByHash(ctx context.Context, hash string) (beckon.APIKey, error) {
	if s.keys.Load() {
		return beckon.APIKey{}, fmt.Errorf("store: api key: %w: %w", beckon.ErrUnavailable, tooManyClients)
	}
	return s.Store.APIKeyGetByHash(ctx, hash)
}

// TestDatabaseExhaustionIs503: "too many clients" (or a connection that
// cannot be made) is one answer on reads and writes alike, and on the API key
// check: 503 with Retry-After, never a 500.
func TestDatabaseExhaustionIs503(t *testing.T) {
	t.Parallel()
	st := &exhaustedStore{Store: storetest.Open(t)}
	clock := beckon.SystemClock{}
	logger := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(api.New(api.Config{
		Store: st, Service: &scheduler.Service{Store: st, Clock: clock, Logger: logger}, Clock: clock, Logger: logger,
	}))
	t.Cleanup(srv.Close)
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{Name: "A"})
	key := "bk_test_" + beckon.NewID("")
	if err := st.APIKeyCreate(context.Background(), beckon.APIKey{ID: beckon.NewID("key_"), ClinicID: clinic.ID, Role: beckon.RoleAdmin, Hash: api.HashKey(key)}); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	check := func(what string, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d (Retry-After %q), want 503 with Retry-After", what, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	st.on.Store(true)
	check("write", do(http.MethodPut, "/v1/patients/p1", `{"first_name":"Ann","phone":"+14155550123"}`))
	check("read", do(http.MethodGet, "/v1/patients/p1", ""))
	st.keys.Store(true)
	check("key check", do(http.MethodGet, "/v1/patients/p1", ""))
	check("key check (FHIR)", do(http.MethodGet, "/fhir/r4/Appointment/a1", ""))
	st.on.Store(false)
	st.keys.Store(false)
	if resp := do(http.MethodPut, "/v1/patients/p1", `{"first_name":"Ann","phone":"+14155550123"}`); resp.StatusCode/100 != 2 {
		t.Fatalf("after recovery: %d", resp.StatusCode)
	}
}
