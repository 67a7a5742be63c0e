package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/beckonhealth/beckon"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the pending migrations: the SQL files of migrations/, the
// same on both dialects, and 00009, which installs PostgreSQL's
// beckon_require (conflict_check.go). On PostgreSQL a session advisory
// lock, one per database and schema, makes processes starting together wait
// for each other instead of racing.
func migrate(ctx context.Context, db *sql.DB, dialect string) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	gooseDialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithGoMigrations(requireMigration(dialect))}
	if dialect == beckon.DialectPostgres {
		gooseDialect = goose.DialectPostgres
		id, err := migrationLockID(ctx, db)
		if err != nil {
			return err
		}
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(id),
			lock.WithLockTimeout(1, 300), // poll every second for 5 minutes
		)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gooseDialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// p.Close would close db: the store owns it.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", dialect, err)
	}
	return nil
}

// migrationLockID is a hash of goose's advisory lock id, the database and the
// schema, so that migrating one schema does not wait for another's.
func migrationLockID(ctx context.Context, db *sql.DB) (int64, error) {
	var database, schema string
	err := db.QueryRowContext(ctx, "SELECT current_database(), COALESCE(current_schema(), '')").Scan(&database, &schema)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: current schema: %w", err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", lock.DefaultLockID, database, schema)
	return int64(h.Sum64()), nil
}
