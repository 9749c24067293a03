package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// Parsing SQL costs about as much as running these small statements (half
// of GetContract's CPU was the parser), so statements are prepared once and
// reused.

// stmtReader runs reads through statements prepared on the reader pool and
// cached by query text. database/sql prepares a cached statement again on
// each pool connection the first time that connection runs it. The queries
// are constants or built from a few optional filters, so the cache stays
// small.
type stmtReader struct {
	db    *sql.DB
	stmts sync.Map // query → *sql.Stmt
}

func (r *stmtReader) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := r.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := r.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

func (r *stmtReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (r *stmtReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := r.stmt(ctx, query)
	if err != nil {
		// *sql.Row cannot carry an error from outside; running the query
		// unprepared reports the same failure through Scan.
		return r.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (r *stmtReader) close() {
	r.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// writeStmts are the hot statements of the write path, prepared on the
// writer when the store opens. They must be: preparing through the writer
// pool inside a transaction would wait forever for its only connection.
// tx.StmtContext then reuses them on the transaction's connection.
type writeStmts struct {
	// A queued refresh (writebehind.go): within the hours in the file,
	// and any.
	flushSameHour, flush *sql.Stmt
	// Group commit's savepoint around each batched write.
	savepoint, rollbackTo, release *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.flushSameHour, flushSameHourSQL},
		{&w.flush, flushSQL},
		{&w.savepoint, "SAVEPOINT batch_item"},
		{&w.rollbackTo, "ROLLBACK TO batch_item"},
		{&w.release, "RELEASE batch_item"},
	} {
		s, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			w.close()
			return err
		}
		*p.dst = s
	}
	return nil
}

func (w *writeStmts) close() {
	for _, s := range []*sql.Stmt{w.flushSameHour, w.flush, w.savepoint, w.rollbackTo, w.release} {
		if s != nil {
			s.Close()
		}
	}
}
