package postgres

import (
	"context"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Checkin is PostgreSQL's check-in hook (store.Engine.Checkin): the common
// case, a refresh of an instance that needs no seat taken and brings no
// telemetry, is one statement and one round trip on the relaxed-durability
// connections (see WithDurableRefresh); anything else runs the shared
// transaction, retried on a lost race.
func (e *engine) Checkin(ctx context.Context, tid string, c licensor.Checkin, now int64) (*licensor.Instance, error) {
	if c.Telemetry == nil {
		inst, err := store.ScanInstance(e.relaxedConn.QueryRow(ctx, store.RefreshInstanceSQL, store.RefreshArgs(tid, c, now, true)...))
		if !store.NoRows(err) {
			return inst, err
		}
	}
	var inst *licensor.Instance
	err := e.Write(ctx, "Checkin", func(tx store.Conn) error {
		var err error
		inst, err = e.CheckinTx(ctx, tx, tid, c, now)
		return err
	})
	return inst, err
}
