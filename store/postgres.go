package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// postgresPoolSize is the default bound of a process's connections;
// PostgreSQL's default max_connections (100) leaves room for a few processes.
const postgresPoolSize = 30

func openPostgres(ctx context.Context, dsn string, poolSize int) (*sql.DB, error) {
	name := redact(dsn)
	dsn = withCustomPlans(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		// pgx redacts passwords from its own errors.
		return nil, fmt.Errorf("store: open postgres %s: %w", name, err)
	}
	// Keep as many idle connections as open ones: a busy worker otherwise
	// closes and reopens connections (each a TCP and auth handshake) all day.
	db.SetMaxOpenConns(poolSize)
	db.SetMaxIdleConns(poolSize)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect postgres %s: %w", name, err)
	}
	return db, nil
}

// redact is dsn without its password, for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// withCustomPlans asks PostgreSQL to plan every execution of a prepared
// statement for its parameters (plan_cache_mode=force_custom_plan) unless the
// DSN says otherwise. pgx prepares and caches statements; a generic plan made
// while a table was small (a sequential scan) is otherwise kept as the table
// grows, and an id IN (…) lookup of a schedule sync got 6× slower by 100,000
// appointments.
func withCustomPlans(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn
	}
	q := u.Query()
	if q.Get("plan_cache_mode") == "" {
		q.Set("plan_cache_mode", "force_custom_plan")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
