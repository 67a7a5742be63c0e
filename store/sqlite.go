package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// sqliteDefaults are the pragmas every connection gets unless the DSN sets them:
// concurrent writers wait instead of failing, readers don't block the writer,
// foreign keys are enforced, and a transaction takes the write lock at BEGIN
// (so it never fails to upgrade a read lock half-way), and what a write
// replaces or deletes is zeroed where that costs no extra I/O (a secret
// sealed over its plaintext, a purged body, leaves no copy in its page).
var sqliteDefaults = []struct{ name, value string }{
	{"busy_timeout", "10000"},
	{"journal_mode", "WAL"},
	{"synchronous", "NORMAL"},
	{"foreign_keys", "1"},
	{"secure_delete", "FAST"},
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
		path, _, _ := strings.Cut(strings.TrimPrefix(full, "file:"), "?")
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return db, nil
}

// sqliteConn runs the portable queries on SQLite with anonymous "?"
// placeholders. SQLite keeps "$1" and "?1" in a list of parameter names that
// the driver searches once per bound argument, which is quadratic in the
// number of parameters (seconds for one multi-row INSERT); "?" has no name.
// The queries hold "$" only in placeholders.
type sqliteConn struct{ db dbtx }

func (c sqliteConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query, args = sqliteRebind(query, args)
	return c.db.ExecContext(ctx, query, args...)
}

func (c sqliteConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query, args = sqliteRebind(query, args)
	return c.db.QueryContext(ctx, query, args...)
}

func (c sqliteConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query, args = sqliteRebind(query, args)
	return c.db.QueryRowContext(ctx, query, args...)
}

// sqliteRebind turns each "$n" into "?" and lists the arguments in the order
// of the placeholders ($n may appear more than once, or out of order).
func sqliteRebind(query string, args []any) (string, []any) {
	if !strings.Contains(query, "$") {
		return query, args
	}
	var b strings.Builder
	b.Grow(len(query))
	out := make([]any, 0, len(args))
	for i := 0; i < len(query); i++ {
		if query[i] != '$' || i+1 == len(query) || !isDigit(query[i+1]) {
			b.WriteByte(query[i])
			continue
		}
		j := i + 1
		for j < len(query) && isDigit(query[j]) {
			j++
		}
		n, err := strconv.Atoi(query[i+1 : j])
		if err != nil || n < 1 || n > len(args) {
			// Leave it as it was: the driver reports the missing argument.
			b.WriteString(query[i:j])
			i = j - 1
			continue
		}
		b.WriteByte('?')
		out = append(out, args[n-1])
		i = j - 1
	}
	return b.String(), out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// SQLiteFile is the file of a SQLite DSN (as Open takes it), or "" for
// PostgreSQL or an in-memory database.
func SQLiteFile(dsn string) string {
	if isPostgres(dsn) {
		return ""
	}
	full, err := sqliteDSN(dsn)
	if err != nil || strings.Contains(full, ":memory:") || strings.Contains(full, "mode=memory") {
		return ""
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(full, "file:"), "?")
	return path
}
