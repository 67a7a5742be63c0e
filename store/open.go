package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/sealed"
)

// Open opens the database named by dsn and applies the migrations.
//
// A dsn starting with postgres:// or postgresql:// is PostgreSQL (through pgx);
// anything else is a SQLite file: "sqlite:PATH", "file:PATH" or a plain PATH,
// optionally with driver query parameters (?_pragma=…), to which Open adds a
// busy timeout, WAL, foreign keys and immediate transactions unless given.
//
// The store fills in record-keeping times the caller leaves zero (CreatedAt,
// UpdatedAt, MessageEvent.At, AuditEntry.At) with Options.Clock's time, and IDs of
// Message, OutboxEntry, AuditEntry and APIKey left empty with NewID.
func Open(ctx context.Context, dsn string) (beckon.Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// Options tune OpenWith; zero fields take their defaults.
type Options struct {
	// MaxConns bounds the PostgreSQL connections the process opens (its
	// pool); a request beyond it waits for a free connection. Default 30.
	// SQLite sets its own.
	MaxConns int
	// Clock tells the record-keeping times the store fills in (the
	// scheduler's and worker's clock); nil is the wall clock. IDs are
	// ordered by wall time whatever it is.
	Clock beckon.Clock
	// Secrets seal the secrets the store keeps (provider tokens and keys,
	// FHIR authorization, webhook signing secrets, the email links' key) on
	// every write and open them on every read. With them, OpenWith refuses a
	// database holding secrets sealed with a key they lack, and seals the
	// secrets still in plaintext (rows from before secrets were sealed).
	// Nil: new secrets are stored in plaintext and sealed ones cannot be
	// read; the app always sets it.
	Secrets *sealed.Keyring
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, o Options) (beckon.Store, error) {
	var (
		db      *sql.DB
		dialect string
		err     error
	)
	if isPostgres(dsn) {
		dialect = beckon.DialectPostgres
		db, err = openPostgres(ctx, dsn, cmp.Or(o.MaxConns, postgresPoolSize))
	} else {
		dialect = beckon.DialectSQLite
		db, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, dialect); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	wrap := func(d dbtx) dbtx { return d }
	if dialect == beckon.DialectSQLite {
		wrap = func(d dbtx) dbtx { return sqliteConn{d} }
	}
	var clock beckon.Clock = beckon.SystemClock{}
	if o.Clock != nil {
		clock = o.Clock
	}
	q := &queries{db: wrap(db), root: db, wrap: wrap, clock: clock, keys: o.Secrets}
	if o.Secrets != nil {
		if err := q.checkSecretKeys(ctx); err != nil {
			return nil, errors.Join(err, db.Close())
		}
		if _, err := q.reseal(ctx, ResealOptions{}); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	return &sqlStore{queries: q, db: db, dialect: dialect}, nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// sqlStore is a Store over database/sql.
type sqlStore struct {
	*queries
	db      *sql.DB
	dialect string
}

// InTx runs fn in one transaction, committed if fn returns nil and rolled back
// if it returns an error or panics (the panic continues).
func (s *sqlStore) InTx(ctx context.Context, fn func(q beckon.Querier) error) error {
	return s.runTx(ctx, func(q *queries) error { return fn(q) })
}

func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return translate("ping "+s.dialect, err)
	}
	return nil
}

func (s *sqlStore) Close() error { return s.db.Close() }

func (s *sqlStore) Dialect() string { return s.dialect }
