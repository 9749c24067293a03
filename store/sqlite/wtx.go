package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// Statements of the write path prepared on first sight. The capability
// transactions run a dozen small statements each; parsing them was a fifth
// of the server's CPU under load. A statement cannot be prepared on the
// writer while a transaction holds its only connection, so a query seen
// for the first time runs unprepared and is noted; the writer prepares the
// noted queries before its next transaction (writeCache.prepare, called by
// write and by the group-commit loop with no transaction open), and later
// transactions reuse them through tx.StmtContext.

// maxWriteStmts bounds the cache: queries built with a variable number of
// placeholders would otherwise grow it without end.
const maxWriteStmts = 256

type writeCache struct {
	stmts  sync.Map // query → *sql.Stmt, prepared on the writer
	n      atomic.Int32
	noted  atomic.Int32 // len(wanted), read without the lock
	mu     sync.Mutex
	wanted map[string]struct{}
}

func (c *writeCache) get(query string) *sql.Stmt {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	c.mu.Lock()
	if int(c.n.Load())+len(c.wanted) < maxWriteStmts {
		if c.wanted == nil {
			c.wanted = make(map[string]struct{})
		}
		c.wanted[query] = struct{}{}
		c.noted.Store(int32(len(c.wanted)))
	}
	c.mu.Unlock()
	return nil
}

// prepare prepares the noted queries on w. The caller must hold no
// transaction on w.
func (c *writeCache) prepare(w *sql.DB) {
	if c.noted.Load() == 0 {
		return
	}
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.noted.Store(0)
	c.mu.Unlock()
	for q := range wanted {
		s, err := w.PrepareContext(context.Background(), q)
		if err != nil {
			continue // it runs unprepared, and reports its own error
		}
		if _, loaded := c.stmts.LoadOrStore(q, s); loaded {
			s.Close()
			continue
		}
		c.n.Add(1)
	}
}

func (c *writeCache) close() {
	c.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// wtx is a write transaction whose statements come from the cache.
type wtx struct {
	tx *sql.Tx
	c  *writeCache
}

func (db *DB) wtx(tx *sql.Tx) wtx { return wtx{tx: tx, c: &db.wc} }

func (t wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.c.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.c.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.c.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
