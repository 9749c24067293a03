package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/licensor/licensor"
)

// Group commit. GetLicense checks an instance in on every call; one write
// transaction per call makes the single writer connection the bottleneck:
// each caller takes the connection through database/sql's pool, and on a
// busy machine the goroutine holding it is often descheduled between its
// BEGIN, its statements and its COMMIT, while every other writer waits. So
// check-ins go to one writer goroutine, which takes whatever has queued up
// (up to maxBatch), runs each under its own SAVEPOINT in one transaction,
// commits once, and only then answers each caller: a caller that is told
// "done" is committed, exactly as before. A failing item rolls back to its
// savepoint and fails alone, and so does one that panics (call). Seat limits stay exact: the items run one
// after another on the one connection, each with its conditional UPDATE.
//
// Other writes (admin changes, rare) still take the writer connection in
// their own transaction through write; database/sql serializes them with
// the batches.

const maxBatch = 256

// batchItem is one queued write. fn runs with the writer's context, not
// the caller's: cancelling a statement interrupts SQLite, which may roll
// back the whole transaction, that is every other caller's write too. A
// caller whose context has ended before its turn is skipped.
type batchItem struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
	err  error
	sent bool
}

func (it *batchItem) answer(err error) {
	if !it.sent {
		it.sent = true
		it.done <- err
	}
}

type batcher struct {
	mu     sync.RWMutex // held for reading while sending on ch
	closed bool
	ch     chan *batchItem
	done   chan struct{}
}

func (db *DB) startBatcher() {
	db.batch = &batcher{ch: make(chan *batchItem, maxBatch), done: make(chan struct{})}
	go db.batchLoop()
}

// stopBatcher lets every queued write finish, then stops the writer
// goroutine. Later writes fail.
func (db *DB) stopBatcher() {
	b := db.batch
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.ch)
	}
	b.mu.Unlock()
	<-b.done
}

var errClosed = errors.New("the store is closed")

// writeBatched runs fn in a transaction shared with other concurrent
// callers and returns once that transaction has committed (or fn failed).
// Errors are treated as in write.
func (db *DB) writeBatched(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	it := &batchItem{ctx: ctx, fn: fn, done: make(chan error, 1)}
	b := db.batch
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return driverErr(op, errClosed)
	}
	b.ch <- it
	b.mu.RUnlock()
	return driverErr(op, <-it.done)
}

func (db *DB) batchLoop() {
	defer close(db.batch.done)
	items := make([]*batchItem, 0, maxBatch)
	for first := range db.batch.ch {
		items = append(items[:0], first)
	fill:
		for len(items) < maxBatch {
			select {
			case it, ok := <-db.batch.ch:
				if !ok {
					break fill
				}
				items = append(items, it)
			default:
				break fill
			}
		}
		db.wc.prepare(db.w) // no transaction is open here
		db.runBatch(items)
		clear(items)
	}
}

// runBatch runs items in one transaction, each under a savepoint. If the
// transaction itself breaks (SQLite rolls back a whole transaction on
// some I/O and memory errors), the items not yet answered run again, each
// in a transaction of its own.
func (db *DB) runBatch(items []*batchItem) {
	bg := context.Background()
	tx, err := db.w.BeginTx(bg, nil)
	if err != nil {
		for _, it := range items {
			it.answer(err)
		}
		return
	}
	if len(items) == 1 {
		db.runOne(tx, items[0])
		return
	}
	sp, rollbackTo, release := tx.StmtContext(bg, db.ws.savepoint), tx.StmtContext(bg, db.ws.rollbackTo), tx.StmtContext(bg, db.ws.release)
	broken := false
	for _, it := range items {
		if err := it.ctx.Err(); err != nil {
			it.answer(err)
			continue
		}
		if _, err := sp.ExecContext(bg); err != nil {
			broken = true
			break
		}
		it.err = db.call(bg, it, tx)
		if it.err != nil {
			if _, err := rollbackTo.ExecContext(bg); err != nil {
				broken = true
				break
			}
		}
		if _, err := release.ExecContext(bg); err != nil {
			broken = true
			break
		}
	}
	if broken {
		_ = tx.Rollback()
		for _, it := range items {
			if !it.sent {
				it.answer(db.write(bg, "batch retry", func(tx *sql.Tx) error { return db.call(bg, it, tx) }))
			}
		}
		return
	}
	if err := tx.Commit(); err != nil {
		for _, it := range items {
			it.answer(err)
		}
		return
	}
	db.commits.Add(1)
	for _, it := range items {
		it.answer(it.err)
	}
}

// runOne runs a batch of one item in tx, without the savepoint a batch
// gives each item: the item's failure rolls the whole transaction back,
// which is all a savepoint would have rolled back. Two statements fewer
// for the batches of a quiet server, most of which hold one item.
func (db *DB) runOne(tx *sql.Tx, it *batchItem) {
	if err := it.ctx.Err(); err != nil {
		_ = tx.Rollback()
		it.answer(err)
		return
	}
	if err := db.call(context.Background(), it, tx); err != nil {
		_ = tx.Rollback()
		it.answer(err)
		return
	}
	if err := tx.Commit(); err != nil {
		it.answer(err)
		return
	}
	db.commits.Add(1)
	it.answer(nil)
}

// call runs it's write in tx. A panic in it (a bug) fails that write
// alone, as an internal error logged with its stack: it runs on the
// writer goroutine, where a panic would otherwise end the process, and
// with it every tenant's service.
func (db *DB) call(ctx context.Context, it *batchItem, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			db.log.Error("a write panicked; it failed alone and the writer goes on", "panic", r, "stack", string(debug.Stack()))
			err = licensor.Internal("write", fmt.Errorf("panic: %v", r))
		}
	}()
	return it.fn(ctx, tx)
}
