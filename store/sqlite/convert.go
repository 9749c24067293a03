package sqlite

import (
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// The conversions shared with store/postgres, under the names this
// package's code has always used.

// micros is how a time is stored: Unix microseconds UTC, 0 for the zero time.
func micros(t time.Time) int64 { return store.Micros(t) }

// fromMicros is the inverse of micros; it always returns UTC.
func fromMicros(us int64) time.Time { return store.FromMicros(us) }

// norm returns t as the store keeps it: UTC, microsecond precision.
func norm(t time.Time) time.Time { return store.Norm(t) }

// stamp returns t normalised, or the store's clock when t is zero: creation
// and update times the caller left empty.
func (db *DB) stamp(t time.Time) time.Time { return store.Stamp(t, db.now) }

// page normalises list options.
func page(o licensor.ListOptions) (licensor.ListOptions, error) { return o.Normalize() }
