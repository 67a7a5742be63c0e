package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// postgresPoolSize bounds a process's connections; PostgreSQL's default
// max_connections (100) leaves room for a few processes.
const postgresPoolSize = 30

func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	name := redact(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		// pgx redacts passwords from its own errors.
		return nil, fmt.Errorf("store: open postgres %s: %w", name, err)
	}
	// Keep as many idle connections as open ones: a busy worker otherwise
	// closes and reopens connections (each a TCP and auth handshake) all day.
	db.SetMaxOpenConns(postgresPoolSize)
	db.SetMaxIdleConns(postgresPoolSize)
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
