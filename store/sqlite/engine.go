package sqlite

import (
	"context"
	"database/sql"

	"github.com/licensor/licensor/store"
)

// dialect is SQLite's spelling of what differs between the engines.
var dialect = &store.Dialect{
	Name:     "sqlite",
	Greatest: "MAX",
	JSONText: func(col, key string) string {
		return "json_extract(NULLIF(" + col + ", ''), '$." + key + "')"
	},
	True:            "1",
	False:           "0",
	Savepoint:       func(sp string) string { return "SAVEPOINT " + sp },
	RollbackTo:      func(sp string) string { return "ROLLBACK TO " + sp },
	Release:         func(sp string) string { return "RELEASE " + sp },
	MigrationsTable: migrationsTable,
	MigrationsExist: `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')`,
	Constraint:      constraintOf,
	// SQLite's constraint errors do not name the constraint; with one
	// writer no transaction ever loses a race to another, so nothing needs
	// to ask for a second run.
	Violates:        func(error, string) bool { return false },
	Transient:       busy,
	Unavailable:     "the database is busy; retry shortly",
	SetMovesIndexes: true,
}

// engine is the DB as the shared store sees it (store.Engine): reads on
// the reader pool's prepared statements, writes on the one writer.
type engine DB

var _ store.Engine = (*engine)(nil)

func (e *engine) Read() store.Conn { return e.rd }

func (e *engine) ReadUnprepared() store.Conn { return poolConn{e.r} }

func (e *engine) Sync(context.Context) error { return (*DB)(e).syncReads() }

func (e *engine) Write(ctx context.Context, op string, fn func(tx store.Conn) error) error {
	db := (*DB)(e)
	return db.write(ctx, op, func(tx *sql.Tx) error { return fn(db.wtx(tx)) })
}

// WriteOne is Write: every write goes through the one writer.
func (e *engine) WriteOne(ctx context.Context, op string, fn func(c store.Conn) error) error {
	return e.Write(ctx, op, fn)
}

// sqlRows is *sql.Rows as store.Rows. A struct of one pointer goes into an
// interface without an allocation.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func (r *stmtReader) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	s, err := r.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	return rowsAffected(s.ExecContext(ctx, args...))
}

func (r *stmtReader) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (r *stmtReader) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return r.QueryRowContext(ctx, query, args...)
}

func (t wtx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return rowsAffected(t.ExecContext(ctx, query, args...))
}

func (t wtx) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (t wtx) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return t.QueryRowContext(ctx, query, args...)
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// poolConn is a pool as store.Conn, its statements not prepared.
type poolConn struct{ *sql.DB }

func (c poolConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return rowsAffected(c.ExecContext(ctx, query, args...))
}

func (c poolConn) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c poolConn) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return c.QueryRowContext(ctx, query, args...)
}

// InstancesChanged makes the write-behind forget the instances it
// remembers.
func (e *engine) InstancesChanged() { e.wb.invalidate() }

func (e *engine) Snapshot(ctx context.Context, fn func(tx store.Conn) error) error {
	tx, err := e.r.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(txConn{tx})
}

// txConn is a transaction as store.Conn, its statements not prepared.
type txConn struct{ *sql.Tx }

func (c txConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return rowsAffected(c.ExecContext(ctx, query, args...))
}

func (c txConn) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c txConn) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return c.QueryRowContext(ctx, query, args...)
}
