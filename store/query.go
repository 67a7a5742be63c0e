package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/sealed"
)

// dbtx is what the queries need: *sql.DB and *sql.Tx both have it.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements Querier once for both dialects over a dbtx. The SQL is
// portable: $n placeholders, ON CONFLICT, RETURNING.
type queries struct {
	db dbtx
	// root is set when db is the *sql.DB itself (not a transaction), so that
	// methods of several statements can open their own transaction.
	root *sql.DB
	// wrap adapts a *sql.DB or *sql.Tx to the dialect (see sqliteConn).
	wrap func(dbtx) dbtx
	// clock tells the record-keeping times the store fills in (stamp).
	clock beckon.Clock
	// keys seal and open the secrets the store keeps (secrets.go); nil
	// keeps new ones in plaintext.
	keys *sealed.Keyring
}

// inTx is queries like q's over tx.
func (q *queries) inTx(tx *sql.Tx) *queries {
	return &queries{db: q.wrap(tx), wrap: q.wrap, clock: q.clock, keys: q.keys}
}

var _ beckon.Querier = (*queries)(nil)

// atomic runs fn in a transaction: the current one, or a new one.
func (q *queries) atomic(ctx context.Context, fn func(q *queries) error) error {
	if q.root == nil {
		return fn(q)
	}
	return q.runTx(ctx, fn)
}

// runTx runs fn in a new transaction on q.root; it rolls back on error or
// panic.
func (q *queries) runTx(ctx context.Context, fn func(q *queries) error) (err error) {
	tx, err := q.root.BeginTx(ctx, nil)
	if err != nil {
		return translate("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(q.inTx(tx)); err != nil {
		_ = tx.Rollback()
		return markUnavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return translate("commit", err)
	}
	return nil
}

// execOne runs a conditional write and reports whether it changed a row.
func (q *queries) execOne(ctx context.Context, op, query string, args ...any) (bool, error) {
	n, err := q.exec(ctx, op, query, args...)
	return n > 0, err
}

// exec runs a write and returns the rows it affected.
func (q *queries) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, translate(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(op, err)
	}
	return n, nil
}

// msArg is t as unix milliseconds UTC, or NULL for the zero time.
func msArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// stamp is t, or the clock's time for the zero time: the store fills in
// record-keeping times (CreatedAt, UpdatedAt, At) that callers leave empty.
func (q *queries) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return q.now()
	}
	return t
}

// now is the clock's time in UTC.
func (q *queries) now() time.Time { return q.clock.Now().UTC() }

// ms scans unix milliseconds (or NULL) into a UTC time.Time (or zero).
type ms struct{ t *time.Time }

func (m ms) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = time.UnixMilli(v).UTC()
	default:
		return fmt.Errorf("store: scan time: unexpected %T", src)
	}
	return nil
}

// nullText is s, or NULL for the empty string.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// text scans TEXT or NULL into a string.
type text struct{ s *string }

func (t text) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t.s = ""
	case string:
		*t.s = v
	case []byte:
		*t.s = string(v)
	default:
		return fmt.Errorf("store: scan text: unexpected %T", src)
	}
	return nil
}

// rawRow is a row of width columns scanned as the driver gives them:
// rows.Scan(ptrs...) fills vals.
func rawRow(width int) (vals, ptrs []any) {
	vals = make([]any, width)
	ptrs = make([]any, width)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, ptrs
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanAll reads every row with scan.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, q *queries, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(op, err)
	}
	out, err := scanAll(rows, scan)
	return out, translate(op, err)
}

// get runs a query for one row; no row is ErrNotFound.
func get[T any](ctx context.Context, q *queries, op string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.db.QueryRowContext(ctx, query, args...))
	return v, translate(op, err)
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; each "?" in cond becomes the next placeholder.
func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	i := 0
	for _, r := range cond {
		if r == '?' && i < len(args) {
			w.args = append(w.args, args[i])
			i++
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// addBefore adds the condition of a newest-first cursor: rows older, by
// (col, id), than the clinic's row id of table. The clinic having no such
// row is ErrNotFound.
func (q *queries) addBefore(ctx context.Context, w *where, op, table, col, clinicID, id string) error {
	var at time.Time
	err := q.db.QueryRowContext(ctx,
		`SELECT `+col+` FROM `+table+` WHERE clinic_id = $1 AND id = $2`, clinicID, id).Scan(ms{&at})
	if err != nil {
		return translate(op, err)
	}
	w.add("("+col+" < ? OR ("+col+" = ? AND id < ?))", at.UnixMilli(), at.UnixMilli(), id)
	return nil
}

// arg appends an argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// valueRows returns the VALUES list of a multi-row insert:
// "($1, …, $cols), ($cols+1, …)" for rows rows, numbered in order.
func valueRows(rows, cols int) string { return valueRowsFrom(1, rows, cols) }

// valueRowsFrom is valueRows numbered from $from.
func valueRowsFrom(from, rows, cols int) string {
	var b strings.Builder
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + placeholders(from+i*cols, cols) + ")")
	}
	return b.String()
}

// limitClause is " LIMIT n" for n > 0, else "".
func limitClause(n int) string {
	if n <= 0 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(n)
}

// orTime is t, or def for the zero time.
func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
