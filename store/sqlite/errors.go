package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// translateErr turns a constraint failure into the domain error m words
// and returns any other error unchanged.
func translateErr(err error, m store.Messages) error { return m.Translate(err, constraintOf(err)) }

// constraintOf says which kind of constraint err is a failure of.
func constraintOf(err error) store.Constraint {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.PrimaryKey
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return store.Unique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return store.ForeignKey
	}
	return store.NoConstraint
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

// driverErr is the last translation of an error leaving the store (see
// store.Final): a database that stayed locked past busy_timeout is
// EUNAVAILABLE (retry).
func driverErr(op string, err error) error {
	return store.Final(op, err, busy, "the database is busy; retry shortly")
}

// busy reports whether err is SQLite's "database is locked" (BUSY or
// LOCKED, with any extended code).
func busy(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
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
