package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/licensor/licensor"
)

// Checkin is SQLite's check-in hook (store.Engine.Checkin): a refresh of an
// instance that exists and keeps its seat (or takes none) is answered from
// the write-behind queue (writebehind.go); anything else runs the shared
// transaction (store.DB.CheckinTx) in a group commit with other concurrent check-ins
// (groupcommit.go).
func (e *engine) Checkin(ctx context.Context, tid string, c licensor.Checkin, now int64) (*licensor.Instance, error) {
	db := (*DB)(e)
	if inst, ok, err := db.checkinBehind(ctx, tid, c, now, c.CloneWindow.Microseconds()); err != nil || ok {
		return inst, err
	}
	k := instKey{tid, c.ContractID, c.InstanceID}
	gen, readAt := db.wb.generation(), time.Now()
	if db.wb.queued(k) {
		// The synchronous write below must land after the queued one.
		if err := db.flushPending(); err != nil {
			return nil, err
		}
	}
	var inst *licensor.Instance
	err := db.writeBatched(ctx, "Checkin", func(ctx context.Context, tx *sql.Tx) error {
		var err error
		inst, err = db.CheckinTx(ctx, db.wtx(tx), tid, c, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.wb.remember(k, inst, gen, readAt)
	return inst, nil
}
