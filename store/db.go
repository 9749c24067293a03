package store

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor"
)

// DB is the SQL store both engines share: every statement and the Go
// around it, over an Engine's connections and a Dialect. An engine's DB
// embeds it, so that its methods are the engine's licensor.Store methods.
type DB struct {
	eng Engine
	d   *Dialect
	now func() time.Time
	// tracer, when set, spans each statement (trace.go).
	tracer atomic.Pointer[tracerBox]
}

// New returns the shared store over eng, speaking d, with now the clock for
// times a caller left zero and for expiry decisions.
func New(eng Engine, d *Dialect, now func() time.Time) *DB {
	if now == nil {
		now = time.Now
	}
	return &DB{eng: eng, d: d, now: now}
}

// Dialect returns the dialect the store speaks.
func (db *DB) Dialect() *Dialect { return db.d }

// Now returns the store's clock.
func (db *DB) Now() time.Time { return db.now() }

// Final is the last translation of an error leaving the store's method op
// (see the package function Final), with the dialect's idea of a transient
// error.
func (db *DB) Final(op string, err error) error {
	return Final(op, err, db.d.Transient, db.d.Unavailable)
}

// read returns the connection for reads outside a transaction.
func (db *DB) read() Conn {
	if db.tracer.Load() != nil {
		return tracedConn{db.eng.Read(), db}
	}
	return db.eng.Read()
}

// write runs fn in one write transaction (Engine.Write) and translates its
// error.
func (db *DB) write(ctx context.Context, op string, fn func(tx Conn) error) error {
	ctx, span := db.span(ctx, "store."+op)
	err := db.Final(op, db.eng.Write(ctx, op, fn))
	endSpan(span, err)
	return err
}

// writeOne runs fn, one write statement (Engine.WriteOne), and translates
// its error.
func (db *DB) writeOne(ctx context.Context, op string, fn func(c Conn) error) error {
	ctx, span := db.span(ctx, "store."+op)
	err := db.Final(op, db.eng.WriteOne(ctx, op, fn))
	endSpan(span, err)
	return err
}

// stamp returns t normalised, or the store's clock when t is zero: creation
// and update times the caller left empty.
func (db *DB) stamp(t time.Time) time.Time { return Stamp(t, db.now) }

// NotFound returns ENOTFOUND with msg when err says a query found no row
// (sql.ErrNoRows, which pgx.ErrNoRows also is), and err otherwise.
func NotFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &licensor.Error{Code: licensor.ENOTFOUND, Message: msg}
	}
	return err
}

// NoRows reports whether err says a query found no row.
func NoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Exists reports whether query returns a row.
func Exists(ctx context.Context, c Conn, query string, args ...any) (bool, error) {
	var one int
	err := c.QueryRow(ctx, query, args...).Scan(&one)
	if NoRows(err) {
		return false, nil
	}
	return err == nil, err
}

// translate turns a constraint failure into the domain error m words and
// returns any other error unchanged.
func (db *DB) translate(err error, m Messages) error { return m.Translate(err, db.d.Constraint(err)) }

// affected returns ENOTFOUND with msg when a statement changed no row.
func affected(n int64, err error, msg string) error {
	if err == nil && n == 0 {
		return &licensor.Error{Code: licensor.ENOTFOUND, Message: msg}
	}
	return err
}
