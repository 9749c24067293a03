package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/internal/newrecord"
)

// CreateSigningKey stores k as the scoped tenant's active key and, in the
// same transaction, retires the previous active key at k.CreatedAt with its
// PublishUntil raised to retiredPublishUntil (never lowered). k must not be
// retired itself. ECONFLICT on a duplicate id; ENOTFOUND for an unknown
// tenant.
func (db *DB) CreateSigningKey(ctx context.Context, k *licensor.SigningKey, retiredPublishUntil time.Time) error {
	tid, err := newrecord.SigningKey(ctx, k, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateSigningKey", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys
			SET retired_at = ?, publish_until = MAX(publish_until, ?)
			WHERE tenant_id = ? AND retired_at = 0`,
			micros(k.CreatedAt), micros(retiredPublishUntil), tid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+store.SigningKeyCols+`) VALUES (?, ?, ?, ?, ?, 0, ?)`,
			tid, k.ID, []byte(k.Public), k.Sealed, micros(k.CreatedAt), micros(k.PublishUntil))
		return translateErr(err, newrecord.SigningKeyConstraints(k))
	})
}

// ListSigningKeys returns every key of the scoped tenant, newest first.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*licensor.SigningKey, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.rd.QueryContext(ctx, `SELECT `+store.SigningKeyCols+`
		FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC, id DESC`, tid)
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
	return db.write(ctx, "ExtendKeyPublication", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE signing_keys SET publish_until = MAX(publish_until, ?)
			WHERE tenant_id = ? AND id = ?`, micros(until), tid, keyID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return licensor.Errorf(licensor.ENOTFOUND, "signing key %s not found", keyID)
		}
		return nil
	})
}
