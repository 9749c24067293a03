package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// CreateSigningKey stores k as the scoped tenant's active key and, in the
// same transaction, retires the previous active key at k.CreatedAt with its
// PublishUntil raised to retiredPublishUntil (never lowered). k must not be
// retired itself. ECONFLICT on a duplicate id; ENOTFOUND for an unknown
// tenant.
func (db *DB) CreateSigningKey(ctx context.Context, k *licensor.SigningKey, retiredPublishUntil time.Time) error {
	tid, err := claim(ctx, &k.TenantID)
	if err != nil {
		return err
	}
	if !k.RetiredAt.IsZero() {
		return licensor.Errorf(licensor.EINVALID, "a new signing key cannot be retired already")
	}
	if k.ID == "" {
		k.ID = licensor.NewID(licensor.PrefixKey)
	}
	k.CreatedAt = db.stamp(k.CreatedAt)
	k.PublishUntil = norm(k.PublishUntil)
	return db.write(ctx, "CreateSigningKey", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys
			SET retired_at = ?, publish_until = MAX(publish_until, ?)
			WHERE tenant_id = ? AND retired_at = 0`,
			micros(k.CreatedAt), micros(retiredPublishUntil), tid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (tenant_id, id, public, sealed, created_at, retired_at, publish_until)
			VALUES (?, ?, ?, ?, ?, 0, ?)`,
			tid, k.ID, []byte(k.Public), k.Sealed, micros(k.CreatedAt), micros(k.PublishUntil))
		return constraints{
			primaryKey: fmt.Sprintf("signing key %s already exists", k.ID),
			foreignKey: fmt.Sprintf("tenant %s not found", tid),
		}.translate(err)
	})
}

// ListSigningKeys returns every key of the scoped tenant, newest first.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*licensor.SigningKey, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.rd.QueryContext(ctx, `SELECT tenant_id, id, public, sealed, created_at, retired_at, publish_until
		FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC, id DESC`, tid)
	if err != nil {
		return nil, driverErr("ListSigningKeys", err)
	}
	defer rows.Close()
	var out []*licensor.SigningKey
	for rows.Next() {
		var k licensor.SigningKey
		var public []byte
		var created, retired, until int64
		if err := rows.Scan(&k.TenantID, &k.ID, &public, &k.Sealed, &created, &retired, &until); err != nil {
			return nil, driverErr("ListSigningKeys", err)
		}
		k.Public = ed25519.PublicKey(public)
		k.CreatedAt, k.RetiredAt, k.PublishUntil = fromMicros(created), fromMicros(retired), fromMicros(until)
		out = append(out, &k)
	}
	return out, driverErr("ListSigningKeys", rows.Err())
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
