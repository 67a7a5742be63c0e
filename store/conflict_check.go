package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/beckonhealth/beckon"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// pgConflictCheck is the SQLSTATE that beckon_require raises: class BK is
// Beckon's own (PostgreSQL uses none of it), 409 as HTTP's Conflict.
// translate maps it, and only it, to ErrConflict.
const pgConflictCheck = "BK409"

// pgRequireFunction is migration 00009 on PostgreSQL: beckon_require(ok,
// what) is TRUE when ok is, and otherwise raises "beckon: conflict: what"
// with SQLSTATE BK409, which aborts the statement that called it and
// undoes all of its writes. A statement of data-modifying WITH clauses
// ends with SELECT beckon_require(…) to stand only while what it planned
// from still holds (writeOne).
const pgRequireFunction = `
CREATE OR REPLACE FUNCTION beckon_require(ok boolean, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'BK409', MESSAGE = 'beckon: conflict: ' || what;
    END IF;
    RETURN TRUE;
END
$$`

// requireMigration installs beckon_require on PostgreSQL. It is a Go
// migration because SQLite has no stored functions: there it records the
// version and does nothing (Write checks in Go on SQLite).
func requireMigration(dialect string) *goose.Migration {
	const version = 9
	if dialect != beckon.DialectPostgres {
		return goose.NewGoMigration(version, nil, nil)
	}
	return goose.NewGoMigration(version,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, pgRequireFunction)
			return err
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DROP FUNCTION IF EXISTS beckon_require(boolean, text)`)
			return err
		}})
}

// isConflictCheck reports whether err is beckon_require's.
func isConflictCheck(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgConflictCheck
}
