package store_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestOpenSQLiteTwice(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "beckon.db")
	for i, dsn := range []string{"sqlite:" + path, "file:" + path, path} {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_1"})
		}
		if _, err := st.ClinicGet(ctx, "cln_1"); err != nil {
			t.Fatalf("open %d: get: %v", i, err)
		}
		if err := st.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, err := store.Open(ctx, "postgres://beckon:s3cret-pw@127.0.0.1:1/nope?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("open unreachable postgres: no error")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "postgres") {
		t.Errorf("error does not say what failed: %v", err)
	}
	_, err = store.Open(ctx, filepath.Join(t.TempDir(), "missing-dir", "x.db"))
	if err == nil {
		t.Fatal("open sqlite in a missing directory: no error")
	}
}

// TestOpenPostgresConcurrently starts several stores on one schema at once:
// the migration lock makes them take turns.
func TestOpenPostgresConcurrently(t *testing.T) {
	t.Parallel()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Skip("DATABASE_URL not set")
	}
	dsn := storetest.PostgresSchema(t, u)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			st, err := store.Open(context.Background(), dsn)
			if err != nil {
				errs <- err
				return
			}
			errs <- st.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("open: %v", err)
		}
	}
}

// On PostgreSQL (DATABASE_URL), a DSN whose first host is down and whose
// second is the server, with target_session_attrs=read-write, opens and
// writes: pgx moves on to the next host, as after a failover.
func TestOpenPostgresMultiHost(t *testing.T) {
	t.Parallel()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		t.Skip("DATABASE_URL not set")
	}
	u, err := url.Parse(storetest.PostgresSchema(t, base))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "127.0.0.1:1," + u.Host
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	st, err := store.Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("open with a dead first host: %v", err)
	}
	defer st.Close()
	storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_multihost"})
	if _, err := st.ClinicGet(t.Context(), "cln_multihost"); err != nil {
		t.Fatal(err)
	}
}
