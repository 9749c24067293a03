package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/store"
)

// dialect is PostgreSQL's spelling of what differs between the engines.
var dialect = &store.Dialect{
	Name:     "postgres",
	Greatest: "GREATEST",
	JSONText: func(col, key string) string {
		return "(NULLIF(" + col + ", '')::jsonb ->> '" + key + "')"
	},
	True:            "TRUE",
	False:           "FALSE",
	ForUpdate:       " FOR UPDATE",
	SkipLocked:      " FOR UPDATE SKIP LOCKED",
	Savepoint:       func(sp string) string { return "SAVEPOINT " + sp },
	RollbackTo:      func(sp string) string { return "ROLLBACK TO SAVEPOINT " + sp },
	Release:         func(sp string) string { return "RELEASE SAVEPOINT " + sp },
	MigrationsTable: migrationsTable,
	MigrationsExist: `SELECT to_regclass('schema_migrations') IS NOT NULL`,
	MigrationLock:   migrationLock,
	Constraint:      constraintOf,
	Violates:        violates,
	Transient:       transient,
	Unavailable:     "the database is unavailable or busy; retry shortly",
}

// engine is the DB as the shared store sees it (store.Engine): reads and
// single statements on the pool, transactions retried on a lost race.
type engine DB

var _ store.Engine = (*engine)(nil)

func (e *engine) Read() store.Conn { return e.conn }

func (e *engine) ReadUnprepared() store.Conn { return e.conn }

// Sync has nothing to do: every write has committed before it answers.
func (e *engine) Sync(context.Context) error { return nil }

func (e *engine) Write(ctx context.Context, op string, fn func(tx store.Conn) error) error {
	return (*DB)(e).tx(ctx, op, func(tx pgx.Tx) error { return fn(&conn{q: tx, rb: &e.rb}) })
}

func (e *engine) WriteOne(ctx context.Context, op string, fn func(c store.Conn) error) error {
	return fn(e.conn)
}

// conn is a pool or a transaction as store.Conn: the shared statements'
// placeholders rebound (cached) to $N.
type conn struct {
	q  querier
	rb *store.Rebinder
}

func (c *conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, c.rb.Rebind(query), args...)
	return tag.RowsAffected(), err
}

func (c *conn) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	return c.q.Query(ctx, c.rb.Rebind(query), args...)
}

func (c *conn) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return c.q.QueryRow(ctx, c.rb.Rebind(query), args...)
}

// InstancesChanged has nothing to forget: nothing is kept between calls.
func (e *engine) InstancesChanged() {}

func (e *engine) Snapshot(ctx context.Context, fn func(tx store.Conn) error) error {
	return pgx.BeginTxFunc(ctx, e.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(&conn{q: tx, rb: &e.rb}) })
}
