package sqlite

import (
	"time"

	"github.com/licensor/licensor/store"
)

// The conversions shared with store/postgres, under the names this
// package's code has always used.

// micros is how a time is stored: Unix microseconds UTC, 0 for the zero time.
func micros(t time.Time) int64 { return store.Micros(t) }

// fromMicros is the inverse of micros; it always returns UTC.
func fromMicros(us int64) time.Time { return store.FromMicros(us) }
