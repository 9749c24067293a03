package store

import "time"

// Micros is how a time is stored: Unix microseconds UTC, 0 for the zero time.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros is the inverse of Micros; it always returns UTC.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Norm returns t as the stores keep it: UTC, microsecond precision.
func Norm(t time.Time) time.Time { return FromMicros(Micros(t)) }

// Stamp returns t normalised, or now() when t is zero: creation and update
// times the caller left empty take the store's clock.
func Stamp(t time.Time, now func() time.Time) time.Time {
	if t.IsZero() {
		t = now()
	}
	return Norm(t)
}

// atWithin narrows q, a query of rows with an `at` column, to since (included)
// through until (excluded); a zero bound is open.
func atWithin(q string, args []any, since, until time.Time) (string, []any) {
	if !since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, Micros(since))
	}
	if !until.IsZero() {
		q += ` AND at < ?`
		args = append(args, Micros(until))
	}
	return q, args
}
