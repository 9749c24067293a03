package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// The shortcut (store.LeaseShortcut): a whole grant of one feature, and the
// return of a whole live lease, each as one batch — BEGIN, the pool's
// lock, one data-modifying statement, COMMIT, the flush — so one round
// trip, five statements, and the pool's lock held only while PostgreSQL
// runs them. The general path (lease.go) takes three round trips and
// eight statements for the same grant, seven for the return, two of the
// round trips under the lock.
//
// The statement writes all or nothing: when its first step finds nothing
// to do it returns no row and the COMMIT commits an empty transaction;
// when a step fails (a request id already answered, a lease id taken,
// a contract gone) PostgreSQL skips the rest of the batch and the
// transaction is rolled back. Either way the general path then runs from
// scratch and answers as it would have.
var _ store.LeaseShortcut = (*engine)(nil)

// grantWholeSQL takes the units only within the pool's size (no overdraft,
// so the answer, kept under the request id, is known before the take)
// and only if no live waiter is ahead; the lease and its grant event are
// written from its row, so with no row nothing is.
const grantWholeSQL = grantTakeSQL + grantFromTakeSQL

const grantTakeSQL = `WITH t AS (
	UPDATE pool_features SET in_use = in_use + $4
	WHERE tenant_id = $1 AND pool_id = $2 AND feature = $3 AND in_use + $4 <= max_units
	AND NOT EXISTS (SELECT 1 FROM capability_waiters w
		WHERE w.tenant_id = $1 AND w.pool_id = $2 AND w.seq < $5 AND w.expires_at > $6)`

// grantAnsweredSQL adds to the take: only if the request id has no kept
// answer. A replayed request (a client's retry) then writes nothing,
// without an error, and the general path replays its answer; only two
// copies of one request running at once can still fail the INSERT of the
// answer.
const grantAnsweredSQL = `
	AND NOT EXISTS (SELECT 1 FROM capability_requests r
		WHERE r.tenant_id = $1 AND r.contract_id = $8 AND r.instance_id = $9 AND r.request_id = $14)`

const grantFromTakeSQL = `
	RETURNING in_use),
l AS (INSERT INTO leases (tenant_id, id, pool_id, contract_id, instance_id, borrowed, created_at, renewed_at, expires_at, units, overage)
	SELECT $1, $7::text, $2, $8::text, $9::text, $10::boolean, $6, $6, $11::bigint, $12::text, '{}' FROM t),
e AS (INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
	SELECT $1, $2, $3, $13::text, $4, t.in_use, $6, $7, $8, $9 FROM t)`

// grantKeepSQL is grantWholeSQL's end with the answer kept: a plain INSERT,
// so that a request id answered meanwhile fails the statement (and is then
// replayed by the general path).
const grantKeepSQL = `, r AS (INSERT INTO capability_requests (tenant_id, contract_id, instance_id, request_id, fingerprint, answer, created_at)
	SELECT $1, $8, $9, $14::text, $15::text, $16::bytea, $6 FROM t)
SELECT in_use FROM t`

// grantFlushSQL is flushSQL only when the lease exists: after a take that
// found no units nothing was written, and the general path that answers
// waits for its own flush.
const grantFlushSQL = flushSQL + ` WHERE EXISTS (SELECT 1 FROM leases WHERE tenant_id = $1 AND id = $2)`

// returnWholeSQL deletes the caller's live lease, but only if every feature
// it holds is still in its pool (else the general path reports it), and
// gives each feature's units back, recording the level that leaves,
// events in feature order.
const returnWholeSQL = returnDelete + returnWholeRest

// returnInPoolSQL is returnWholeSQL for a lease of pool $7 only: a grouped
// return holds that pool's lock (lease_group.go).
const returnInPoolSQL = returnDelete + ` AND l.pool_id = $7` + returnWholeRest

const returnDelete = `WITH d AS (
	DELETE FROM leases l
	WHERE l.tenant_id = $1 AND l.id = $2 AND l.contract_id = $3 AND l.instance_id = $4 AND l.expires_at > $5`

const returnWholeRest = `
	AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(l.units::jsonb) k WHERE NOT EXISTS (SELECT 1 FROM pool_features p
		WHERE p.tenant_id = l.tenant_id AND p.pool_id = l.pool_id AND p.feature = k COLLATE "C"))
	RETURNING l.pool_id, l.units),
u AS (SELECT d.pool_id, k.key COLLATE "C" AS feature, k.value::bigint AS units FROM d, jsonb_each_text(d.units::jsonb) k),
f AS (UPDATE pool_features p SET in_use = p.in_use - u.units FROM u
	WHERE p.tenant_id = $1 AND p.pool_id = u.pool_id AND p.feature = u.feature
	RETURNING p.pool_id, p.feature, p.in_use, u.units),
e AS (INSERT INTO usage_events (tenant_id, pool_id, feature, kind, units, in_use, at, lease_id, contract_id, instance_id)
	SELECT $1, f.pool_id, f.feature, $6::text, f.units, f.in_use, $5, $2, $3, $4 FROM f ORDER BY f.feature)
SELECT EXISTS (SELECT 1 FROM capability_waiters w WHERE w.tenant_id = $1 AND w.pool_id = d.pool_id AND w.expires_at > $5) FROM d`

// grantStatement is g's data-modifying statement: a row when it granted.
func grantStatement(g store.Grant) (string, []any) {
	args := []any{g.Tenant, g.Pool, g.Feature, g.Units, g.Queue, g.Now,
		g.Lease, g.Contract, g.Instance, g.Borrowed, g.Expires, g.UnitsJSON, string(licensor.UsageGrant)}
	if g.Answer == nil {
		return grantAloneSQL, args
	}
	return grantKeepAllSQL, append(args, g.RequestID, g.Fingerprint, g.Answer)
}

const (
	grantAloneSQL   = grantWholeSQL + "\nSELECT in_use FROM t"
	grantKeepAllSQL = grantTakeSQL + grantAnsweredSQL + grantFromTakeSQL + grantKeepSQL
)

// grantAlone runs g as one transaction of its own; committed, if not nil,
// is called once it has committed, before the flush.
func (e *engine) grantAlone(ctx context.Context, g store.Grant, committed func()) (bool, error) {
	q, args := grantStatement(g)
	_, done, err := e.shortcut(ctx, txShape{
		lock:  stmt{batchLockPoolSQL, []any{g.Tenant, g.Pool}},
		stmts: []stmt{{q, args}},
		flush: stmt{grantFlushSQL, []any{g.Tenant, g.Lease}},
	}, nil, committed)
	return done, err
}

// returnAlone runs r as one transaction of its own, finding the pool to
// lock by the lease; waiting as for store.LeaseShortcut.ReturnWhole, and
// committed as for grantAlone.
func (e *engine) returnAlone(ctx context.Context, tid string, r licensor.LeaseReturn, now int64, committed func()) (done, waiting bool, err error) {
	row, done, err := e.shortcut(ctx, txShape{
		lock:  stmt{batchLockLeasePoolSQL, []any{tid, r.LeaseID}},
		stmts: []stmt{{returnWholeSQL, []any{tid, r.LeaseID, r.ContractID, r.InstanceID, now, string(licensor.UsageReturn)}}},
		flush: stmt{sql: flushSQL},
	}, func(locked int64) error {
		if locked == 0 {
			return store.LeaseNotFound(r.LeaseID)
		}
		return nil
	}, committed)
	waiting, _ = row.(bool)
	return done, waiting, err
}

// shortcut sends tx, of one statement, on a connection of the async pool
// in one round trip (sendTx) and reads its results:
// the statement's one column (nil with no row), and done when the
// statement returned a row and the COMMIT committed it, or when check, of
// the lock's row count, failed: that error ends the call (the statement
// found nothing to change), after the flush. Anything that fails before
// the COMMIT leaves nothing written and done false. committed, if not
// nil, is called between the COMMIT and the flush.
func (e *engine) shortcut(ctx context.Context, tx txShape, check func(rows int64) error, committed func()) (row any, done bool, err error) {
	rows, lockErr, err := e.sendTx(ctx, tx, nil, check, committed)
	switch {
	case rows == nil && err != nil:
		return nil, true, err // sent, and the outcome lost
	case rows == nil, rows[0] == nil && lockErr == nil:
		return nil, false, nil
	case err != nil:
		return rows[0], true, err
	}
	return rows[0], true, lockErr
}

// stmt is a statement and its arguments.
type stmt struct {
	sql  string
	args []any
}

// txShape is the one transaction sendTx sends: BEGIN, the lock of a pool
// (or of a contract's row, or several: lock_wait.go), the data-modifying
// statements, COMMIT, the flush.
type txShape struct {
	lock  stmt
	stmts []stmt
	flush stmt
}

// sendTx sends tx on a connection of the async pool in one round trip and
// reads its results: each statement's row as scan reads it (nil scan: one
// column; nil: it wrote nothing), lockErr from check of the lock's row
// count (nil check: none), and the error of the COMMIT or the flush, after
// which the outcome of what was written is unknown. rows is nil when
// nothing was written because a step failed (PostgreSQL then skips the
// rest of the batch, and the transaction is rolled back) or the COMMIT
// rolled back; rows is nil with an error when the batch was sent and its
// results were lost (lost): PostgreSQL may have run all of it, COMMIT
// included. committed, if not nil, is called once the COMMIT has
// committed, before the flush.
func (e *engine) sendTx(ctx context.Context, tx txShape, scan func(pgx.Row) (any, error), check func(rows int64) error, committed func()) (rows []any, lockErr, err error) {
	if scan == nil {
		scan = scanColumn
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(tx.lock.sql, tx.lock.args...)
	for _, s := range tx.stmts {
		b.Queue(s.sql, s.args...)
	}
	b.Queue("COMMIT")
	b.Queue(tx.flush.sql, tx.flush.args...)
	pc, err := e.async.Acquire(ctx)
	if err != nil {
		return nil, nil, nil
	}
	// Release destroys a connection left inside a transaction or broken.
	defer pc.Release()
	br := pc.SendBatch(ctx, b)
	defer func() {
		_ = br.Close()
		if pc.Conn().PgConn().TxStatus() != 'I' {
			// A statement failed and PostgreSQL skipped the rest of the
			// batch: end its transaction, so the connection can be reused.
			_, _ = pc.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := br.Exec(); err != nil { // BEGIN
		return nil, nil, lost(ctx, err)
	}
	locked, err := e.readLock(br)
	if err != nil {
		return nil, nil, lost(ctx, err)
	}
	if check != nil {
		lockErr = check(locked)
	}
	rows = make([]any, len(tx.stmts))
	wrote := false
	for i := range rows {
		row, err := scan(br.QueryRow())
		switch {
		case err == nil:
			rows[i], wrote = row, true
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, nil, lost(ctx, err)
		}
	}
	if !wrote && lockErr == nil {
		// Nothing was written: the general path decides. The COMMIT and
		// the flush (which writes nothing for a grant not made) are read
		// by Close.
		return rows, nil, nil
	}
	ctag, err := br.Exec() // COMMIT: from here the outcome is decided
	switch {
	case err != nil:
		return rows, lockErr, err
	case ctag.String() == "ROLLBACK":
		return nil, nil, nil
	}
	if committed != nil {
		committed()
	}
	if _, err := br.Exec(); err != nil { // the flush
		return rows, lockErr, err
	}
	return rows, lockErr, nil
}

// lost is the error of a batch sent whole whose results could not be read
// (err, before its COMMIT's): nil when nothing was written, that is when
// PostgreSQL failed a step (it then skips the rest of the batch, and the
// transaction is rolled back) or nothing was sent; else the outcome is
// unknown. A broken connection may have carried every statement and the
// COMMIT to PostgreSQL, and taking that for "nothing written" would run
// the call again on the general path: a second grant. The caller's own
// cancellation passes through as it is.
func lost(ctx context.Context, err error) error {
	switch {
	case pgError(err) != nil, pgconn.SafeToRetry(err):
		return nil
	case ctx.Err() != nil:
		return err
	}
	return &licensor.Error{
		Code: licensor.EUNAVAILABLE,
		Message: "the connection to the database broke after the write was sent, so it may have been carried out; " +
			"retry: a capability request with the same request id gets its first answer, and a lease already returned is not found",
		RetryAfter: time.Second,
		Err:        err,
	}
}

// scanColumn reads a statement's one column.
func scanColumn(r pgx.Row) (v any, err error) {
	err = r.Scan(&v)
	return v, err
}
