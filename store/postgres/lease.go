package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensor/licensor/store"
)

// Capability requests and returns are the hot writes of a pool: each holds
// the pool's lock (store.PoolLocker) until its transaction ends, so one
// pool's requests run one after the other and what bounds them is how long
// each holds the lock. Two things shorten it here:
//
//   - The commit does not wait for the WAL flush under the lock: the
//     transaction runs on a connection with synchronous_commit=off, which
//     ends it (and frees the lock) once its commit record is written, and
//     then waits for the flush outside the lock, in the same round trip as
//     the COMMIT, by committing a tiny synchronous transaction (flushSQL).
//     A flush covers all WAL before it, so the request is durable when that
//     returns, and concurrent requests share flushes (PostgreSQL's group
//     flush). A request is answered only after it: an acknowledged grant
//     or return survives a database crash like any other write.
//   - Fewer round trips: BEGIN and the pool's lock go out with the
//     transaction's first statement, and the COMMIT with the flush, so a
//     grant is three round trips (lock and take; the lease, its events and
//     the answer; commit and flush), two of them under the lock. The
//     commonest grant and return are one round trip each, with the lock
//     held only while PostgreSQL runs them (lease_shortcut.go).
var _ store.GroupWriter = (*engine)(nil)

// flushSQL, run in a transaction of its own, writes one tiny WAL record (a
// transactional logical message: no table, no privilege) and commits it
// waiting for the flush (synchronous_commit on for that transaction), which
// makes every transaction that committed before it durable.
const flushSQL = `SELECT set_config('synchronous_commit', 'on', true), pg_logical_emit_message(true, 'licensor', '')`

// WriteGrouped runs fn in a transaction on the async pool, retried like
// Write, and answers after the WAL flush (store.GroupWriter). PostgreSQL
// groups nothing itself; concurrent requests share the flush. The flush is
// waited for whatever fn returned: a request that failed may have read
// another's answer (a replayed request id), which must be durable before
// it is told.
func (e *engine) WriteGrouped(ctx context.Context, op string, fn func(ctx context.Context, tx store.Conn) error) error {
	var err error
	for range maxTxAttempts {
		err = e.leaseTx(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return driverErr(op, err)
}

// leaseTx runs fn once in a transaction of its own on a connection of the
// async pool, and commits it (or rolls it back) and waits for the flush in
// one round trip.
func (e *engine) leaseTx(ctx context.Context, fn func(ctx context.Context, tx store.Conn) error) error {
	pc, err := e.async.Acquire(ctx)
	if err != nil {
		return err
	}
	// Release destroys a connection left inside a transaction or broken.
	defer pc.Release()
	lc := &leaseConn{conn: conn{q: pc, rb: &e.rb}, pc: pc}
	lc.pending = append(lc.pending, pendingStmt{Stmt: store.Stmt{Query: "BEGIN"}})
	ferr := fn(ctx, lc)
	end := "COMMIT"
	if ferr != nil {
		end = "ROLLBACK"
	}
	if !lc.began {
		// fn sent nothing: there is no transaction to end, nor anything it
		// could have read to wait for.
		return ferr
	}
	b := &pgx.Batch{}
	b.Queue(end)
	b.Queue(flushSQL)
	br := pc.SendBatch(ctx, b)
	tag, err := br.Exec()
	if err == nil && ferr == nil && tag.String() == "ROLLBACK" {
		// A statement failed and fn went on: the COMMIT rolled back.
		err = pgx.ErrTxCommitRollback
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if ferr != nil {
		return ferr
	}
	return err
}

// leaseConn is a lease transaction's connection as store.Conn: statements
// queued with later (BEGIN, the pool's lock) go out in one batch with the
// next statement sent.
type leaseConn struct {
	conn
	pc      *pgxpool.Conn
	pending []pendingStmt
	began   bool // BEGIN has been sent
}

// pendingStmt is a statement waiting for the next one, and what its count
// of rows means (nil: nothing).
type pendingStmt struct {
	store.Stmt
	check func(rows int64) error
}

// later queues a statement to go out with the next one sent.
func (c *leaseConn) later(check func(int64) error, query string, args ...any) {
	c.pending = append(c.pending, pendingStmt{Stmt: store.Stmt{Query: query, Args: args}, check: check})
}

// send sends the pending statements and then stmts in one batch, and
// returns the batch positioned at the first of stmts' results.
func (c *leaseConn) send(ctx context.Context, stmts ...store.Stmt) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, p := range c.pending {
		b.Queue(c.rb.Rebind(p.Query), p.Args...)
	}
	for _, s := range stmts {
		b.Queue(c.rb.Rebind(s.Query), s.Args...)
	}
	pending := c.pending
	c.pending, c.began = nil, true
	br := c.pc.SendBatch(ctx, b)
	for _, p := range pending {
		tag, err := br.Exec()
		if err == nil && p.check != nil {
			err = p.check(tag.RowsAffected())
		}
		if err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return br, nil
}

func (c *leaseConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if len(c.pending) == 0 {
		return c.conn.Exec(ctx, query, args...)
	}
	br, err := c.send(ctx, store.Stmt{Query: query, Args: args})
	if err != nil {
		return 0, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag.RowsAffected(), err
}

func (c *leaseConn) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	if len(c.pending) == 0 {
		return c.conn.Query(ctx, query, args...)
	}
	br, err := c.send(ctx, store.Stmt{Query: query, Args: args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return batchRows{Rows: rows, br: br}, nil
}

func (c *leaseConn) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	if len(c.pending) == 0 {
		return c.conn.QueryRow(ctx, query, args...)
	}
	br, err := c.send(ctx, store.Stmt{Query: query, Args: args})
	if err != nil {
		return errRow{err}
	}
	return batchRow{Row: br.QueryRow(), br: br}
}

func (c *leaseConn) ExecStmts(ctx context.Context, stmts []store.Stmt) ([]int64, int, error) {
	if len(c.pending) == 0 || len(stmts) == 0 {
		return c.conn.ExecStmts(ctx, stmts)
	}
	br, err := c.send(ctx, stmts...)
	if err != nil {
		// A pending statement failed: the transaction is lost, which is
		// what a failure of the first statement means to the caller.
		return make([]int64, len(stmts)), 0, err
	}
	return execResults(br, len(stmts))
}

// batchRows closes the batch with the rows.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	_ = r.br.Close()
}

// batchRow closes the batch once scanned.
type batchRow struct {
	pgx.Row
	br pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
