package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// sqliteDefaults are the pragmas every connection gets unless the DSN sets them:
// concurrent writers wait instead of failing, readers don't block the writer,
// foreign keys are enforced, and a transaction takes the write lock at BEGIN
// (so it never fails to upgrade a read lock half-way).
var sqliteDefaults = []struct{ name, value string }{
	{"busy_timeout", "10000"},
	{"journal_mode", "WAL"},
	{"synchronous", "NORMAL"},
	{"foreign_keys", "1"},
}

// sqliteDSN turns "sqlite:PATH", "file:PATH" or "PATH" (each with an optional
// ?query) into a modernc.org/sqlite DSN with Beckon's defaults.
func sqliteDSN(dsn string) (string, error) {
	path := strings.TrimPrefix(dsn, "sqlite:")
	path = strings.TrimPrefix(path, "file:")
	path = strings.TrimPrefix(path, "//") // sqlite://PATH
	path, rawQuery, _ := strings.Cut(path, "?")
	if path == "" {
		return "", fmt.Errorf("store: sqlite: empty path in DSN")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("store: sqlite: bad DSN query: %w", err)
	}
	set := map[string]bool{}
	for _, p := range q["_pragma"] {
		name, _, _ := strings.Cut(p, "(")
		name, _, _ = strings.Cut(name, "=")
		set[strings.ToLower(strings.TrimSpace(name))] = true
	}
	for _, d := range sqliteDefaults {
		if !set[d.name] {
			q.Add("_pragma", d.name+"("+d.value+")")
		}
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode(), nil
}

func openSQLite(ctx context.Context, dsn string) (*sql.DB, error) {
	full, err := sqliteDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", full)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	if strings.Contains(full, ":memory:") || strings.Contains(full, "mode=memory") {
		// Every connection to :memory: is its own database: keep one.
		db.SetMaxOpenConns(1)
	} else {
		// WAL: many readers, one writer at a time (the others wait on
		// busy_timeout). A few connections are plenty on a small machine.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	return db, nil
}
