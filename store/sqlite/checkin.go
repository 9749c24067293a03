package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// SQLite's ways with check-ins (store.CheckinEngine; Sync and
// InstancesChanged, for the instances it keeps, are in engine.go): a
// refresh that decides nothing is answered at once and written behind (writebehind.go); every
// other check-in runs its transaction in a group commit on the single
// writer (groupcommit.go), its statements prepared on the writer (wtx.go).
var _ store.CheckinEngine = (*engine)(nil)

func (e *engine) Checkin(ctx context.Context, c store.Checkin) (*licensor.Instance, error) {
	db := (*DB)(e)
	inst, ok, err := db.checkinBehind(ctx, c.Tenant, c.Checkin, c.Now, c.Window)
	if err != nil || ok {
		return inst, err
	}
	return db.checkinNow(ctx, c)
}

// checkinNow runs c's transaction in a group commit and remembers the
// instance it left. (A function of its own: c escapes here, and only
// here.)
func (db *DB) checkinNow(ctx context.Context, c store.Checkin) (*licensor.Instance, error) {
	k := instKey{c.Tenant, c.ContractID, c.InstanceID}
	gen, readAt := db.wb.generation(), time.Now()
	if db.wb.queued(k) {
		// The synchronous write below must land after the queued one.
		if err := db.flushPending(); err != nil {
			return nil, err
		}
	}
	if err := db.writeBatched(ctx, "Checkin", func(ctx context.Context, tx *sql.Tx) error {
		return c.Tx(ctx, db.wtx(tx))
	}); err != nil {
		return nil, err
	}
	db.wb.remember(k, c.Instance, gen, readAt)
	return c.Instance, nil
}
