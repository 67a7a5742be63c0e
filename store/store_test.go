package store_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// bundle is what a conformance test starts from: a fresh store with one clinic.
type bundle struct {
	ctx    context.Context
	st     beckon.Store
	clinic beckon.Clinic
	now    time.Time // a fixed instant, whole milliseconds
}

type setupFunc func(t *testing.T) *bundle

// forEachDialect runs fn once per available dialect (SQLite always, PostgreSQL
// when DATABASE_URL is set) as parallel subtests. setup gives each test its
// own fresh store.
func forEachDialect(t *testing.T, fn func(t *testing.T, setup setupFunc)) {
	t.Helper()
	type dialect struct {
		name string
		open func(testing.TB) beckon.Store
	}
	dialects := []dialect{{beckon.DialectSQLite, storetest.OpenSQLite}}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		dialects = append(dialects, dialect{beckon.DialectPostgres, func(t testing.TB) beckon.Store {
			return storetest.OpenPostgres(t, u)
		}})
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, func(t *testing.T) *bundle {
				t.Helper()
				st := d.open(t)
				if got := st.Dialect(); got != d.name {
					t.Fatalf("Dialect() = %q, want %q", got, d.name)
				}
				return &bundle{
					ctx: t.Context(),
					st:  st,
					clinic: storetest.Clinic(t, st, storetest.ClinicOpts{
						ID: "cln_a",
					}),
					now: time.Date(2026, 3, 10, 14, 30, 0, 123_000_000, time.UTC),
				}
			})
		})
	}
}

// otherClinic creates a second clinic, for isolation tests.
func (b *bundle) otherClinic(t *testing.T) beckon.Clinic {
	t.Helper()
	return storetest.Clinic(t, b.st, storetest.ClinicOpts{
		ID: "cln_b",
	})
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func isErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}
