package store

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// A multi-host DSN with target_session_attrs=read-write (PostgreSQL
// failover: pgx tries the hosts in order and keeps the first that accepts
// writes) survives Open's rewriting: every host, its port and the session
// check reach pgx, and errors show no password.
func TestPostgresMultiHostDSN(t *testing.T) {
	t.Parallel()
	dsn := "postgres://beckon:s3cret-pw@pg-a.example:5432,pg-b.example:5433/beckon?target_session_attrs=read-write&sslmode=disable"
	cfg, err := pgx.ParseConfig(withCustomPlans(dsn))
	if err != nil {
		t.Fatalf("pgx refuses the rewritten DSN: %v", err)
	}
	if cfg.Host != "pg-a.example" || cfg.Port != 5432 || cfg.Database != "beckon" {
		t.Fatalf("first host %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	}
	if len(cfg.Fallbacks) != 1 || cfg.Fallbacks[0].Host != "pg-b.example" || cfg.Fallbacks[0].Port != 5433 {
		t.Fatalf("fallback hosts %+v", cfg.Fallbacks)
	}
	if cfg.ValidateConnect == nil {
		t.Fatal("target_session_attrs=read-write set no session check")
	}
	if got := cfg.RuntimeParams["plan_cache_mode"]; got != "force_custom_plan" {
		t.Fatalf("plan_cache_mode %q", got)
	}
	if r := redact(dsn); strings.Contains(r, "s3cret-pw") || !strings.Contains(r, "pg-b.example:5433") {
		t.Fatalf("redacted %q", r)
	}
}
