package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/store"
)

var _ store.Pipeliner = (*conn)(nil)

// ExecStmts sends stmts in one batch: one round trip, whatever their
// number (store.Pipeliner).
func (c *conn) ExecStmts(ctx context.Context, stmts []store.Stmt) ([]int64, int, error) {
	if len(stmts) == 0 {
		return []int64{}, 0, nil
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(c.rb.Rebind(s.Query), s.Args...)
	}
	return execResults(c.q.(batchSender).SendBatch(ctx, b), len(stmts))
}

// execResults reads n statements' results from br and closes it: the rows
// each affected, or the index of the one that failed and its error.
func execResults(br pgx.BatchResults, n int) ([]int64, int, error) {
	affected := make([]int64, n)
	for i := range n {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return affected, i, err
		}
		affected[i] = tag.RowsAffected()
	}
	return affected, 0, br.Close()
}

// batchSender is what pools and transactions send batches with.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}
