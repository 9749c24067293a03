package store

import (
	"context"

	"github.com/licensor/licensor"
)

// The indexes on an instance's times (instances_seen,
// instances_contract_seen, instances_license_expiry) hold the hour of
// last_seen_at and of license_expires_at, kept in last_seen_hour and
// license_expires_hour, not the exact times: a refresh sets the times on
// every check-in but changes an hour at most once an hour, and only then
// moves an index entry (and, on PostgreSQL, loses the HOT update). Every
// query on these indexes bounds the hour, then the exact time: an exact
// bound x implies the hour bound HourOf(x) on the same side, inclusive,
// because HourOf never decreases.

// HourOf is the hour of an instant in Unix microseconds: the integer
// quotient by an hour's microseconds, truncated as SQL's integer division
// truncates, so that Go and both engines agree on every value.
func HourOf(us int64) int64 { return us / hourMicros }

// refreshSet is the refresh of an existing instance without its hours,
// and refreshWhere its condition. SET expressions see the old row, so the
// clone check compares the previous host and time. ?1 is the clone window
// and ?3 now, in µs; ?11 true restricts it to an instance that needs
// nothing taken: one that holds its seat already, or a check-in (?12 is
// TakesSeat) that takes none by an instance that holds its non-production
// slot. ?14 and ?15 are the hours of ?3 and ?7.
const (
	refreshSet = `UPDATE instances SET
		clone_suspected_at = CASE WHEN CAST(?1 AS BIGINT) > 0 AND CAST(?3 AS BIGINT) - last_seen_at < CAST(?1 AS BIGINT)
			AND ((CAST(?2 AS TEXT) <> '' AND host <> '' AND host <> ?2)
				OR (CAST(?13 AS TEXT) <> '' AND fingerprint <> '' AND fingerprint <> ?13))
			THEN CAST(?3 AS BIGINT) ELSE clone_suspected_at END,
		fingerprint = CASE WHEN CAST(?13 AS TEXT) <> '' THEN ?13 ELSE fingerprint END,
		host = ?2, last_seen_at = ?3, environment = ?4, remote_addr = ?5, license_id = ?6, license_expires_at = ?7`
	refreshWhere = `
	WHERE tenant_id = ?8 AND contract_id = ?9 AND instance_id = ?10
		AND (NOT CAST(?11 AS BOOLEAN) OR seat OR (nonprod AND NOT CAST(?12 AS BOOLEAN)))`
)

// checkinRefreshSQL refreshes an existing instance, hours and all.
const checkinRefreshSQL = refreshSet + `, last_seen_hour = ?14, license_expires_hour = ?15` + refreshWhere + `
	RETURNING ` + InstanceCols

// refreshSameHourSQL refreshes an existing instance whose hours stay as
// they are, and finds no row otherwise: it leaves the hours out of its SET
// list, for an engine that rewrites the index entries of every column
// there (Dialect.SetMovesIndexes).
const refreshSameHourSQL = refreshSet + refreshWhere + `
		AND last_seen_hour = ?14 AND license_expires_hour = ?15
	RETURNING ` + InstanceCols

// refresh runs the refresh of c on conn (onlyWithoutSeat: ?11) and returns
// the instance, or an error NoRows reports if no instance matched. Where
// setting a column moves its index entries whatever the value, the common
// case — both hours unchanged — is tried first without them.
func (c *Checkin) refresh(ctx context.Context, conn Conn, onlyWithoutSeat bool) (*licensor.Instance, error) {
	args := c.refreshArgs(onlyWithoutSeat)
	if c.db.d.SetMovesIndexes {
		inst, err := ScanInstance(conn.QueryRow(ctx, refreshSameHourSQL, args...))
		if !NoRows(err) {
			return inst, err
		}
	}
	return ScanInstance(conn.QueryRow(ctx, checkinRefreshSQL, args...))
}
