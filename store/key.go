package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// CreateSigningKey stores k as the scoped tenant's newest key, signing from
// k.ActivateAt (k.CreatedAt if zero or earlier), and, in the same
// transaction, retires at that instant every key that would still sign
// then (the active key, and a key staged to activate later), with its
// PublishUntil raised to retiredPublishUntil (never lowered). k must not be
// retired itself. ECONFLICT on a duplicate id; ENOTFOUND for an unknown
// tenant. Two rotations at once (on two servers) both succeed, one after
// the other.
func (db *DB) CreateSigningKey(ctx context.Context, k *licensor.SigningKey, retiredPublishUntil time.Time) error {
	tid, err := NewSigningKey(ctx, k, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateSigningKey", func(tx Conn) error {
		if _, err := tx.Exec(ctx, `UPDATE signing_keys
			SET retired_at = ?, publish_until = `+db.d.Greatest+`(publish_until, ?)
			WHERE tenant_id = ? AND (retired_at = 0 OR retired_at > ?)`,
			Micros(k.ActivateAt), Micros(retiredPublishUntil), tid, Micros(k.ActivateAt)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+SigningKeyCols+`) VALUES (?, ?, ?, ?, ?, 0, ?, ?)`,
			tid, k.ID, []byte(k.Public), k.Sealed, Micros(k.CreatedAt), Micros(k.PublishUntil), Micros(k.ActivateAt))
		if db.d.Violates(err, "signing_keys_active") {
			// Another server's rotation of this tenant committed a new
			// active key after this transaction's UPDATE ran: run again, so
			// that this rotation retires that key in turn.
			return ErrRetry
		}
		return db.translate(err, SigningKeyConstraints(k))
	})
}

// ListSigningKeys returns every key of the scoped tenant, newest first.
func (db *DB) ListSigningKeys(ctx context.Context) ([]*licensor.SigningKey, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read().Query(ctx, `SELECT `+SigningKeyCols+`
		FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC, id DESC`, tid)
	if err != nil {
		return nil, db.Final("ListSigningKeys", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanSigningKey)
	return out, db.Final("ListSigningKeys", err)
}

// ExtendKeyPublication raises a key's PublishUntil to at least until; it
// never lowers it. ENOTFOUND.
func (db *DB) ExtendKeyPublication(ctx context.Context, keyID string, until time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "ExtendKeyPublication", func(tx Conn) error {
		n, err := tx.Exec(ctx, `UPDATE signing_keys SET publish_until = `+db.d.Greatest+`(publish_until, ?)
			WHERE tenant_id = ? AND id = ?`, Micros(until), tid, keyID)
		return affected(n, err, "signing key "+keyID+" not found")
	})
}
