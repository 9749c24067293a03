package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/store"
)

// lockPool takes the pool's lock (store.DB.LockPool) in a pgx transaction
// of the capability code.
func lockPool(ctx context.Context, tx pgx.Tx, tid, poolID string) error {
	_, err := tx.Exec(ctx, lockPoolSQL, tid, poolID)
	return err
}

var lockPoolSQL = store.Rebind(dialect.LockPool)
