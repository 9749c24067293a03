package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/licensor/licensor"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// constraints says what a constraint failure of one statement means, in
// words for the person who sent the request. Driver text never reaches a
// Message: it names tables and columns.
type constraints struct {
	primaryKey string // ECONFLICT: the id is taken
	unique     string // ECONFLICT: a unique name or hash is taken
	foreignKey string // ENOTFOUND: a referenced object does not exist
}

// translate turns a constraint failure into a domain error and returns any
// other error unchanged.
func (c constraints) translate(err error) error {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		if c.primaryKey != "" {
			return &licensor.Error{Code: licensor.ECONFLICT, Message: c.primaryKey, Err: err}
		}
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		if c.unique != "" {
			return &licensor.Error{Code: licensor.ECONFLICT, Message: c.unique, Err: err}
		}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		if c.foreignKey != "" {
			return &licensor.Error{Code: licensor.ENOTFOUND, Message: c.foreignKey, Err: err}
		}
	}
	return err
}

// sqliteCode returns the extended result code of a driver error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isForeignKey(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

// driverErr is the last translation of an error leaving the store: domain
// errors pass, a database that stayed locked past busy_timeout is
// EUNAVAILABLE (retry), anything else is EINTERNAL with the cause kept for
// the log.
func driverErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *licensor.Error
	if errors.As(err, &de) {
		return err
	}
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &licensor.Error{
			Code:       licensor.EUNAVAILABLE,
			Message:    "the database is busy; retry shortly",
			RetryAfter: time.Second,
			Err:        err,
		}
	}
	return licensor.Internal(op, err)
}

// notFound returns ENOTFOUND with msg when err is sql.ErrNoRows, and err
// otherwise.
func notFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &licensor.Error{Code: licensor.ENOTFOUND, Message: msg}
	}
	return err
}

// querier is what reads need: the reader pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exists reports whether query returns a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
