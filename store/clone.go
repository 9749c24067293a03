package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// FlagClone sets an instance's clone_suspected_at to at. Queued
// write-behind refreshes land first and the engine forgets the rows it
// remembers, so that no older row lands over the flag.
func (db *DB) FlagClone(ctx context.Context, contractID, instanceID string, at time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return db.Final("FlagClone", err)
	}
	err = db.writeOne(ctx, "FlagClone", func(tx Conn) error {
		n, err := tx.Exec(ctx, `UPDATE instances SET clone_suspected_at = ?
			WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, Micros(db.stamp(at)), tid, contractID, instanceID)
		return affected(n, err, instanceNotFound(contractID, instanceID))
	})
	db.eng.InstancesChanged()
	return err
}
