package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"too many clients", &pgconn.PgError{Code: "53300"}, true},
		{"too many clients, wrapped", fmt.Errorf("store: begin: %w", &pgconn.PgError{Code: "53300"}), true},
		{"out of memory", &pgconn.PgError{Code: "53200"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connect error", fmt.Errorf("x: %w", &pgconn.ConnectError{}), true},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"sentinel", fmt.Errorf("x: %w", beckon.ErrUnavailable), true},
		{"bad conn", fmt.Errorf("x: %w", sql.ErrConnDone), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"invalid byte sequence", &pgconn.PgError{Code: "22021"}, false},
		{"not found", beckon.ErrNotFound, false},
		{"other", errors.New("boom"), false},
	} {
		if got := store.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: IsUnavailable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTooManyClientsOnPostgres: a real PostgreSQL refusing a connection
// (a role with CONNECTION LIMIT 1 whose one connection is in use) gives an
// error the store reports as unavailable.
func TestTooManyClientsOnPostgres(t *testing.T) {
	t.Parallel()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		t.Skip("DATABASE_URL not set")
	}
	ctx := context.Background()
	dsn := storetest.PostgresSchema(t, base)
	st, err := store.Open(ctx, dsn) // migrates, as the owner
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	u, _ := url.Parse(dsn)
	schema := u.Query().Get("search_path")
	role := "lim_" + schema
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN CONNECTION LIMIT 1`,
		`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role,
		`GRANT ALL ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + role,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), `DROP OWNED BY `+role)
		_, _ = admin.ExecContext(context.Background(), `DROP ROLE `+role)
	})
	u.User = url.User(role)
	limited, err := store.OpenWith(ctx, u.String(), store.Options{MaxConns: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer limited.Close()
	// The one connection the role may have is held by this transaction; the
	// read outside it needs a second one, which the server refuses.
	var outside error
	err = limited.InTx(ctx, func(q beckon.Querier) error {
		if _, err := q.ClinicList(ctx); err != nil {
			return err
		}
		_, outside = limited.ClinicGet(ctx, "cln_nosuch")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(outside, &pgErr) || pgErr.Code != "53300" {
		t.Fatalf("read beyond the role's connection limit: %v, want SQLSTATE 53300", outside)
	}
	if !store.IsUnavailable(outside) || !errors.Is(outside, beckon.ErrUnavailable) {
		t.Fatalf("%v: not reported as unavailable", outside)
	}
}
