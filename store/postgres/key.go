package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/internal/newrecord"
)

// CreateSigningKey stores k as the scoped tenant's active key and, in the
// same transaction, retires the previous active key at k.CreatedAt with its
// PublishUntil raised to retiredPublishUntil (never lowered). k must not be
// retired itself. ECONFLICT on a duplicate id; ENOTFOUND for an unknown
// tenant. Two rotations at once (on two servers) both succeed, one after
// the other.
func (db *DB) CreateSigningKey(ctx context.Context, k *licensor.SigningKey, retiredPublishUntil time.Time) error {
	tid, err := newrecord.SigningKey(ctx, k, db.now)
	if err != nil {
		return err
	}
	return db.tx(ctx, "CreateSigningKey", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE signing_keys
			SET retired_at = $1, publish_until = GREATEST(publish_until, $2)
			WHERE tenant_id = $3 AND retired_at = 0`,
			micros(k.CreatedAt), micros(retiredPublishUntil), tid); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+store.SigningKeyCols+`) VALUES ($1, $2, $3, $4, $5, 0, $6)`,
			tid, k.ID, []byte(k.Public), k.Sealed, micros(k.CreatedAt), micros(k.PublishUntil))
		if violates(err, "signing_keys_active") {
			// Another server's rotation of this tenant committed a new
			// active key after this transaction's UPDATE ran: run again, so
			// that this rotation retires that key in turn.
			return errRetry
		}
		return translateErr(err, newrecord.SigningKeyConstraints(k))
	})
}

// ListSigningKeys returns every key of the scoped tenant, newest first.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*licensor.SigningKey, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT `+store.SigningKeyCols+`
		FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, tid)
	if err != nil {
		return nil, driverErr("ListSigningKeys", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanSigningKey)
	return out, driverErr("ListSigningKeys", err)
}

// ExtendKeyPublication raises a key's PublishUntil to at least until; it
// never lowers it. ENOTFOUND.
func (db *DB) ExtendKeyPublication(ctx context.Context, keyID string, until time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE signing_keys SET publish_until = GREATEST(publish_until, $1)
		WHERE tenant_id = $2 AND id = $3`, micros(until), tid, keyID)
	if err != nil {
		return driverErr("ExtendKeyPublication", err)
	}
	if tag.RowsAffected() == 0 {
		return licensor.Errorf(licensor.ENOTFOUND, "signing key %s not found", keyID)
	}
	return nil
}
