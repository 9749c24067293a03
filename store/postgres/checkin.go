package postgres

import (
	"context"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// PostgreSQL's way with check-ins (store.CheckinEngine): the common case,
// a refresh of an instance that needs no seat taken and carries no
// telemetry, is one row of a statement shared with the refreshes running
// at the same time (refresh.go), on the relaxed-durability connections
// (see WithDurableRefresh); the others run their transaction, retried on
// a lost race. A new instance's first check-in without telemetry is one
// batch of its own first (checkin_new.go).
var _ store.CheckinEngine = (*engine)(nil)

func (e *engine) Checkin(ctx context.Context, c store.Checkin) (*licensor.Instance, error) {
	if c.Telemetry == nil {
		if ok, err := e.refreshes.refresh(&c); err != nil || ok {
			return c.Instance, err
		}
		// Not refreshed: a new instance, or one that needs a seat or a
		// slot taken, whose INSERT fails and which the general path
		// then serves.
		if inst, done, err := e.checkinNewGrouped(ctx, &c); done {
			return inst, err
		}
	}
	return c.Write(ctx, e)
}
