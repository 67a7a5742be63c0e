package store

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestSQLiteRebind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query    string
		args     []any
		want     string
		wantArgs []any
	}{
		{"SELECT 1", nil, "SELECT 1", nil},
		{"a = $1 AND b = $2", []any{1, 2}, "a = ? AND b = ?", []any{1, 2}},
		{"x = $3, y = $3 WHERE id = $1 AND t = $2 AND c <= $4", []any{"id", "t", 3, 4},
			"x = ?, y = ? WHERE id = ? AND t = ? AND c <= ?", []any{3, 3, "id", "t", 4}},
		{"($10, $11)", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "(?, ?)", []any{10, 11}},
		{"$ and $9", []any{1}, "$ and $9", []any{}},
	} {
		got, gotArgs := sqliteRebind(tc.query, tc.args)
		if got != tc.want || !reflect.DeepEqual(gotArgs, tc.wantArgs) {
			t.Errorf("sqliteRebind(%q) = %q %v, want %q %v", tc.query, got, gotArgs, tc.want, tc.wantArgs)
		}
	}
}

func TestSQLiteDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dsn      string
		wantPath string
		contains []string
		missing  []string
	}{
		{"beckon.db", "file:beckon.db?", []string{"busy_timeout%2810000%29", "journal_mode%28WAL%29", "foreign_keys%281%29", "_txlock=immediate"}, nil},
		{"sqlite:/var/lib/beckon/db.sqlite", "file:/var/lib/beckon/db.sqlite?", []string{"_txlock=immediate"}, nil},
		{"file:data/x.db?_pragma=busy_timeout(100)&_txlock=deferred", "file:data/x.db?",
			[]string{"busy_timeout%28100%29", "_txlock=deferred", "journal_mode%28WAL%29"},
			[]string{"busy_timeout%2810000%29", "_txlock=immediate"}},
	} {
		got, err := sqliteDSN(tc.dsn)
		if err != nil {
			t.Fatalf("sqliteDSN(%q): %v", tc.dsn, err)
		}
		if !strings.HasPrefix(got, tc.wantPath) {
			t.Errorf("sqliteDSN(%q) = %q, want prefix %q", tc.dsn, got, tc.wantPath)
		}
		for _, s := range tc.contains {
			if !strings.Contains(got, s) {
				t.Errorf("sqliteDSN(%q) = %q, want %q in it", tc.dsn, got, s)
			}
		}
		for _, s := range tc.missing {
			if strings.Contains(got, s) {
				t.Errorf("sqliteDSN(%q) = %q, want no %q", tc.dsn, got, s)
			}
		}
	}
	if _, err := sqliteDSN("sqlite:"); err == nil {
		t.Error("sqliteDSN(sqlite:): no error")
	}
}

func TestTimeScan(t *testing.T) {
	t.Parallel()
	var got time.Time
	if err := (ms{&got}).Scan(int64(1_700_000_000_123)); err != nil {
		t.Fatal(err)
	}
	want := time.UnixMilli(1_700_000_000_123).UTC()
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("scan = %v, want %v UTC", got, want)
	}
	if err := (ms{&got}).Scan(nil); err != nil || !got.IsZero() {
		t.Errorf("scan NULL = %v, %v; want zero", got, err)
	}
	if msArg(time.Time{}) != nil {
		t.Error("msArg(zero) is not NULL")
	}
	nyc := time.FixedZone("EST", -5*3600)
	if got := msArg(time.Date(2026, 1, 1, 7, 0, 0, 999_999, nyc)); got != time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("msArg = %v", got)
	}
}

// Only beckon_require's SQLSTATE is a conflict: not another exception raised
// by PL/pgSQL (P0001), not a division by zero (a value the database refused).
func TestTranslateConflictCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code     string
		conflict bool
		invalid  bool
	}{
		{pgConflictCheck, true, false},
		{"P0001", false, false},
		{"22012", false, true},
		{pgUniqueViolation, true, false},
	} {
		err := translate("op", &pgconn.PgError{Code: tc.code, Message: "m"})
		if errors.Is(err, beckon.ErrConflict) != tc.conflict || errors.Is(err, beckon.ErrInvalidData) != tc.invalid {
			t.Errorf("SQLSTATE %s: %v; want conflict %t, invalid data %t", tc.code, err, tc.conflict, tc.invalid)
		}
	}
}

// TestMarkUnavailable: a driver error meaning "cannot serve now" that
// reaches a transaction's end untranslated leaves the store as
// beckon.ErrUnavailable, so callers need not know the drivers; others pass
// unchanged.
func TestMarkUnavailable(t *testing.T) {
	t.Parallel()
	tooMany := &pgconn.PgError{Code: "53300"}
	if err := markUnavailable(fmt.Errorf("x: %w", tooMany)); !errors.Is(err, beckon.ErrUnavailable) || !errors.Is(err, tooMany) {
		t.Errorf("too many clients: %v, want ErrUnavailable wrapping the driver error", err)
	}
	if err := markUnavailable(&net.OpError{Op: "dial", Err: errors.New("refused")}); !errors.Is(err, beckon.ErrUnavailable) {
		t.Errorf("dial: %v, want ErrUnavailable", err)
	}
	wrapped := fmt.Errorf("y: %w", beckon.ErrUnavailable)
	if err := markUnavailable(wrapped); err != wrapped {
		t.Errorf("already unavailable: %v rewrapped", err)
	}
	other := errors.New("boom")
	if err := markUnavailable(other); err != other {
		t.Errorf("other error: %v, want it unchanged", err)
	}
	if markUnavailable(nil) != nil {
		t.Error("nil: not nil")
	}
}
