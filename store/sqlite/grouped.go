package sqlite

import (
	"context"
	"database/sql"

	"github.com/licensor/licensor/store"
)

var _ store.GroupWriter = (*engine)(nil)

// WriteGrouped runs fn in a group commit on the single writer
// (groupcommit.go), its statements prepared on the writer (wtx.go).
func (e *engine) WriteGrouped(ctx context.Context, op string, fn func(ctx context.Context, tx store.Conn) error) error {
	db := (*DB)(e)
	return db.writeBatched(ctx, op, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, db.wtx(tx)) })
}
