package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensor/licensor/store"
)

// SQLSTATE codes the store acts on.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeLockNotAvailable     = "55P03"
	codeTooManyConnections   = "53300"
	codeAdminShutdown        = "57P01"
	codeCannotConnectNow     = "57P03"
)

// constraintOf says which kind of constraint err is a failure of: a
// unique violation of a constraint named *_pkey is the primary key's.
func constraintOf(err error) store.Constraint {
	pe := pgError(err)
	if pe == nil {
		return store.NoConstraint
	}
	switch pe.Code {
	case codeUniqueViolation:
		if strings.HasSuffix(pe.ConstraintName, "_pkey") {
			return store.PrimaryKey
		}
		return store.Unique
	case codeForeignKeyViolation:
		return store.ForeignKey
	}
	return store.NoConstraint
}

// pgError returns the server error inside err, or nil.
func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// violates reports whether err is a failure of the named constraint.
func violates(err error, constraint string) bool {
	pe := pgError(err)
	return pe != nil && pe.ConstraintName == constraint
}

// errRetry asks tx to run the transaction again (store.ErrRetry).
var errRetry = store.ErrRetry

// retryable reports whether a failed transaction can simply run again.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	pe := pgError(err)
	return pe != nil && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// driverErr is the last translation of an error leaving the store (see
// store.Final): a database that is unreachable, overloaded, restarting or
// kept us waiting on a lock is EUNAVAILABLE (retry).
func driverErr(op string, err error) error {
	return store.Final(op, err, transient, "the database is unavailable or busy; retry shortly")
}

// transient reports whether err is a condition that a retry a little later
// can clear: the database unreachable or restarting, a connection that
// broke, out of connections, a lost race that retries did not win.
func transient(err error) bool {
	if pe := pgError(err); pe != nil {
		switch pe.Code {
		case codeSerializationFailure, codeDeadlockDetected, codeLockNotAvailable,
			codeTooManyConnections, codeAdminShutdown, codeCannotConnectNow:
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection exception
	}
	if errors.Is(err, errRetry) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true // the connection closed under the statement
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne)
}

// querier is what reads and writes need: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
