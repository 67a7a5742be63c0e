// Package storetest gives tests a fresh, migrated store and factories that
// create records with sane defaults, setting only what a test cares about.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/sealed"
	"github.com/beckonhealth/beckon/store"
)

// Open returns a fresh, empty, migrated store, closed (and dropped) when the
// test ends: a new schema in the PostgreSQL database named by DATABASE_URL if
// it is set, else a SQLite file in t.TempDir().
func Open(t testing.TB) beckon.Store {
	t.Helper()
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return OpenPostgres(t, u)
	}
	return OpenSQLite(t)
}

// OpenSQLite returns a fresh store in a SQLite file in t.TempDir().
func OpenSQLite(t testing.TB) beckon.Store {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "beckon.db"))
}

// OpenPostgres returns a fresh store in a new schema of the database at
// databaseURL (a postgres:// URL), reached through search_path. The schema is
// dropped when the test ends.
func OpenPostgres(t testing.TB, databaseURL string) beckon.Store {
	t.Helper()
	return open(t, PostgresSchema(t, databaseURL))
}

// PostgresSchema creates an empty schema with a random name in the database at
// databaseURL and returns a DSN that uses it (through search_path). The schema
// is dropped when the test ends, after the stores opened later are closed.
func PostgresSchema(t testing.TB, databaseURL string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("storetest: DATABASE_URL is not a URL")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "beckon_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatalf("storetest: open postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := sql.Open("pgx", databaseURL)
		if err != nil {
			t.Errorf("storetest: open postgres: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Key is the secret key of the stores Open returns, as BECKON_SECRET_KEY
// takes it: tests that reopen a store, or start Beckon on one, use it.
const Key = "dGVzdC1vbmx5IGtleSBvZiBzdG9yZXRlc3QgMzJieXQ="

// Keyring is Key's keyring: every store Open returns seals its secrets with
// it, so every test that stores a secret goes through sealing.
func Keyring(t testing.TB) *sealed.Keyring {
	t.Helper()
	b, err := sealed.ParseKey(Key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sealed.NewKeyring(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t testing.TB, dsn string) beckon.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.OpenWith(ctx, dsn, store.Options{Secrets: Keyring(t)})
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
	})
	return st
}
