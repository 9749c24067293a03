package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

const offlineCols = `tenant_id, license_id, contract_id, instance_id, key_jkt, public_key, fingerprint, nonce,
	created_at, expires_at, released_at, release`

func scanOffline(r Row) (*licensor.OfflineActivation, error) {
	var a licensor.OfflineActivation
	var created, expires, released int64
	if err := r.Scan(&a.TenantID, &a.LicenseID, &a.ContractID, &a.InstanceID, &a.KeyJKT, &a.PublicKey, &a.Fingerprint,
		&a.Nonce, &created, &expires, &released, &a.Release); err != nil {
		return nil, err
	}
	a.CreatedAt, a.ExpiresAt, a.ReleasedAt = FromMicros(created), FromMicros(expires), FromMicros(released)
	return &a, nil
}

// CreateOfflineActivation records an answered offline request and checks
// its instance in, in one transaction, so that a refused request (a
// replay, no seat free) changes nothing. The nonce is unique per tenant: a
// replayed request is ECONFLICT. ENOTFOUND for an unknown contract.
func (db *DB) CreateOfflineActivation(ctx context.Context, a *licensor.OfflineActivation, in licensor.Checkin) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	a.TenantID = tid
	a.CreatedAt = db.stamp(a.CreatedAt)
	// Queued write-behind refreshes land first, so that none of them is
	// older than this check-in's row; the engine forgets what it
	// remembers of the instance afterwards.
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("CreateOfflineActivation", err)
	}
	c := Checkin{Checkin: in, Tenant: tid, Now: Micros(db.stamp(in.Now)), Window: in.CloneWindow.Microseconds(), db: db}
	err = db.write(ctx, "CreateOfflineActivation", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO offline_activations (`+offlineCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '')`,
			tid, a.LicenseID, a.ContractID, a.InstanceID, a.KeyJKT, a.PublicKey, a.Fingerprint, a.Nonce,
			Micros(a.CreatedAt), Micros(a.ExpiresAt))
		if err := db.translate(err, Messages{
			PrimaryKey: "offline license " + a.LicenseID + " exists",
			Unique:     "this offline request was already answered (its nonce is recorded): create a new request on the machine",
			ForeignKey: "contract " + a.ContractID + " not found",
		}); err != nil {
			return err
		}
		return c.Tx(ctx, tx)
	})
	db.eng.InstancesChanged()
	if err != nil {
		return nil, err
	}
	return c.Instance, nil
}

// GetOfflineActivation returns one activation of the scoped tenant by its
// license id. ENOTFOUND.
func (db *DB) GetOfflineActivation(ctx context.Context, licenseID string) (*licensor.OfflineActivation, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := scanOffline(db.read().QueryRow(ctx, `SELECT `+offlineCols+` FROM offline_activations
		WHERE tenant_id = ? AND license_id = ?`, tid, licenseID))
	if err != nil {
		return nil, db.Final("GetOfflineActivation", NotFound(err, "offline license "+licenseID+" not found"))
	}
	return a, nil
}

// HeldOfflineActivation returns the newest unreleased activation of an
// instance of the scoped tenant. ENOTFOUND if none.
func (db *DB) HeldOfflineActivation(ctx context.Context, contractID, instanceID string) (*licensor.OfflineActivation, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, err := scanOffline(db.read().QueryRow(ctx, `SELECT `+offlineCols+` FROM offline_activations
		WHERE tenant_id = ? AND contract_id = ? AND instance_id = ? AND released_at = 0
		ORDER BY created_at DESC, license_id DESC LIMIT 1`, tid, contractID, instanceID))
	if err != nil {
		return nil, db.Final("HeldOfflineActivation", NotFound(err, "instance "+instanceID+" holds no offline license"))
	}
	return a, nil
}

// ReleaseOfflineActivation marks an activation released and frees its
// instance's seat in the same transaction; of two releases at once, one
// succeeds and the other is EPRECONDITION. ENOTFOUND.
func (db *DB) ReleaseOfflineActivation(ctx context.Context, licenseID, reason string, at time.Time) (*licensor.OfflineActivation, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	at = db.stamp(at)
	var out *licensor.OfflineActivation
	err = db.write(ctx, "ReleaseOfflineActivation", func(tx Conn) error {
		a, err := scanOffline(tx.QueryRow(ctx, `UPDATE offline_activations SET released_at = ?, release = ?
			WHERE tenant_id = ? AND license_id = ? AND released_at = 0 RETURNING `+offlineCols,
			Micros(at), reason, tid, licenseID))
		if NoRows(err) {
			ok, err := Exists(ctx, tx, `SELECT 1 FROM offline_activations WHERE tenant_id = ? AND license_id = ?`, tid, licenseID)
			if err != nil {
				return err
			}
			if ok {
				return licensor.Errorf(licensor.EPRECONDITION, "offline license %s was already released; its seat is free", licenseID)
			}
			return licensor.Errorf(licensor.ENOTFOUND, "offline license %s not found", licenseID)
		}
		if err != nil {
			return err
		}
		if _, err := releaseSeatTx(ctx, tx, tid, a.ContractID, a.InstanceID); err != nil {
			return err
		}
		out = a
		return nil
	})
	db.eng.InstancesChanged()
	if err != nil {
		return nil, err
	}
	return out, nil
}
