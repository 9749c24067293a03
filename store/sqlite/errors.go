package sqlite

import (
	"errors"

	"github.com/licensor/licensor/store"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

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
