package store

import "context"

// Conn is what every statement of the store runs on: a pool, the reader
// pool, or a transaction. Queries are written once with ? placeholders (and
// ?N where an argument repeats); an engine's adapter rebinds them to its
// driver's spelling (see Rebinder). database/sql (SQLite) and pgx
// (PostgreSQL) both satisfy it through thin adapters in the engine packages.
type Conn interface {
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query; the caller closes the rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row; its error
	// (sql.ErrNoRows for none, which pgx's ErrNoRows also is) comes out of
	// Scan.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is one row of QueryRow: *sql.Row and pgx.Row both are.
type Row = Scanner

// Rows is the result set of Query: pgx.Rows is one; *sql.Rows needs an
// adapter only for its Close, which returns an error nobody acts on.
type Rows interface {
	Iter
	Close()
}
