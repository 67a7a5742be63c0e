package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// PostgreSQL SQLSTATE for unique_violation.
const pgUniqueViolation = "23505"

// translate maps a database error to the store's errors and names the
// operation that failed. It never includes row values (they may be PHI).
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, beckon.ErrNotFound), errors.Is(err, beckon.ErrConflict):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return beckon.ErrNotFound
	case isUniqueViolation(err):
		return fmt.Errorf("%s: %w", op, beckon.ErrConflict)
	case isConflictCheck(err):
		// Its message says which check failed (Beckon's text, no values).
		return fmt.Errorf("%s: %w: %w", op, beckon.ErrConflict, err)
	case isUnavailable(err):
		return fmt.Errorf("store: %s: %w: %w", op, beckon.ErrUnavailable, err)
	case isDataException(err):
		// The driver's message can quote the value: keep only its code.
		return fmt.Errorf("store: %s: %w (%s)", op, beckon.ErrInvalidData, dataExceptionCode(err))
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// isUniqueViolation reports whether err is a primary key or unique constraint
// violation, by the drivers' error codes.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgUniqueViolation
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		switch sqlErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return true
		}
	}
	return false
}

// markUnavailable wraps a driver error that means the database cannot serve
// now, and that no translation saw, in ErrUnavailable; others pass unchanged.
func markUnavailable(err error) error {
	if err != nil && !errors.Is(err, beckon.ErrUnavailable) && isUnavailable(err) {
		return fmt.Errorf("store: %w: %w", beckon.ErrUnavailable, err)
	}
	return err
}

// IsUnavailable reports whether err means the database cannot serve now
// rather than that the request is wrong: ErrUnavailable, or a driver error
// of that kind the store did not translate (opening a transaction, a ping).
func IsUnavailable(err error) bool {
	return errors.Is(err, beckon.ErrUnavailable) || isUnavailable(err)
}

// isUnavailable classifies the drivers' errors: PostgreSQL's connection
// exceptions (SQLSTATE class 08), insufficient resources (class 53, among
// them 53300 too_many_connections), the server shutting down or starting
// (57P01–57P03); a connection that could not be made or broke; SQLite's
// busy database (the busy timeout ran out).
func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "53"):
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03":
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		return sqlErr.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	var opErr *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.As(err, &opErr)
}

// pgDataExceptionClass is the SQLSTATE class of data exceptions: 22021
// character_not_in_repertoire (a NUL, invalid UTF-8), 22001
// string_data_right_truncation, 22P02 invalid_text_representation, 22003
// numeric_value_out_of_range, 22008 datetime_field_overflow, …
const pgDataExceptionClass = "22"

// isDataException reports whether the database refused a value itself:
// PostgreSQL's class 22, SQLite's too big and datatype mismatch.
func isDataException(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, pgDataExceptionClass)
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		switch sqlErr.Code() & 0xff {
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
			return true
		}
	}
	return false
}

// dataExceptionCode is the database's code for a data exception.
func dataExceptionCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return "SQLSTATE " + pgErr.Code
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		return "sqlite " + strconv.Itoa(sqlErr.Code())
	}
	return ""
}
