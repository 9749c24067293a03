package postgres

import (
	"context"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// PostgreSQL's way with check-ins (store.CheckinEngine): the common case,
// a refresh of an instance that needs no seat taken, is one statement and
// one round trip on the relaxed-durability connections (see
// WithDurableRefresh); the others run their transaction, retried on a lost
// race.
var _ store.CheckinEngine = (*engine)(nil)

func (e *engine) Checkin(ctx context.Context, c store.Checkin) (*licensor.Instance, error) {
	if ok, err := c.Refresh(ctx, e.rconn); err != nil || ok {
		return c.Instance, err
	}
	return c.Write(ctx, e)
}
