package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
)

// CreateSigningKey stores k as the scoped tenant's active key and, in the
// same transaction, retires the previous active key at k.CreatedAt with its
// PublishUntil raised to retiredPublishUntil (never lowered). k must not be
// retired itself. ECONFLICT on a duplicate id; ENOTFOUND for an unknown
// tenant. Two rotations at once (on two servers) both succeed, one after
// the other.
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
	return db.tx(ctx, "CreateSigningKey", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE signing_keys
			SET retired_at = $1, publish_until = GREATEST(publish_until, $2)
			WHERE tenant_id = $3 AND retired_at = 0`,
			micros(k.CreatedAt), micros(retiredPublishUntil), tid); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (tenant_id, id, public, sealed, created_at, retired_at, publish_until)
			VALUES ($1, $2, $3, $4, $5, 0, $6)`,
			tid, k.ID, []byte(k.Public), k.Sealed, micros(k.CreatedAt), micros(k.PublishUntil))
		if violates(err, "signing_keys_active") {
			// Another server's rotation of this tenant committed a new
			// active key after this transaction's UPDATE ran: run again, so
			// that this rotation retires that key in turn.
			return errRetry
		}
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
	rows, err := db.pool.Query(ctx, `SELECT tenant_id, id, public, sealed, created_at, retired_at, publish_until
		FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, tid)
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
