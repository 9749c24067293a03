package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// SetReservation sets or removes one instance's reservation and keeps the
// feature's reserved sum, with the pool locked so that a grant never sees
// half of it. See licensor.ReservationStore.
func (db *DB) SetReservation(ctx context.Context, r licensor.Reservation) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.write(ctx, "SetReservation", func(tx Conn) error {
		if err := db.lockPool(ctx, tx, tid, r.PoolID); err != nil {
			return err
		}
		var maxUnits, reserved int64
		err := tx.QueryRow(ctx, `SELECT max_units, reserved FROM pool_features WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
			tid, r.PoolID, r.Feature).Scan(&maxUnits, &reserved)
		if NoRows(err) {
			return licensor.Errorf(licensor.ENOTFOUND, "pool %s has no feature %q", r.PoolID, r.Feature)
		}
		if err != nil {
			return err
		}
		var old int64
		err = tx.QueryRow(ctx, `SELECT units FROM pool_reservations WHERE tenant_id = ? AND pool_id = ? AND feature = ? AND instance_id = ?`,
			tid, r.PoolID, r.Feature, r.InstanceID).Scan(&old)
		if err != nil && !NoRows(err) {
			return err
		}
		if total := reserved - old + r.Units; total > maxUnits {
			return licensor.Errorf(licensor.EINVALID, "feature %q of pool %s has %d units; reserving %d for %s would reserve %d in all",
				r.Feature, r.PoolID, maxUnits, r.Units, r.InstanceID, total)
		}
		if r.Units == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM pool_reservations WHERE tenant_id = ? AND pool_id = ? AND feature = ? AND instance_id = ?`,
				tid, r.PoolID, r.Feature, r.InstanceID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO pool_reservations (tenant_id, pool_id, feature, instance_id, units) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (tenant_id, pool_id, feature, instance_id) DO UPDATE SET units = excluded.units`,
				tid, r.PoolID, r.Feature, r.InstanceID, r.Units)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE pool_features SET reserved = reserved + ? WHERE tenant_id = ? AND pool_id = ? AND feature = ?`,
			r.Units-old, tid, r.PoolID, r.Feature)
		return err
	})
}

// ListReservations returns a pool's reservations with what each instance
// holds. See licensor.ReservationStore.
func (db *DB) ListReservations(ctx context.Context, poolID string, now time.Time) ([]licensor.Reservation, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := Exists(ctx, db.read(), `SELECT 1 FROM pools WHERE tenant_id = ? AND id = ?`, tid, poolID)
	switch {
	case err != nil:
		return nil, db.Final("ListReservations", err)
	case !ok:
		return nil, licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", poolID)
	}
	rs, err := reservations(ctx, db.read(), tid, poolID, Micros(db.stamp(now)))
	return rs, db.Final("ListReservations", err)
}

// reservations reads a pool's reservations and what each instance holds
// in the pool's leases live at now (the units column, parsed here).
func reservations(ctx context.Context, c Conn, tid, poolID string, now int64) ([]licensor.Reservation, error) {
	rows, err := c.Query(ctx, `SELECT feature, instance_id, units FROM pool_reservations
		WHERE tenant_id = ? AND pool_id = ? ORDER BY feature, instance_id`, tid, poolID)
	if err != nil {
		return nil, err
	}
	rs, err := All(rows, func(s Scanner) (r licensor.Reservation, err error) {
		r.PoolID = poolID
		return r, s.Scan(&r.Feature, &r.InstanceID, &r.Units)
	})
	rows.Close()
	if err != nil || len(rs) == 0 {
		return rs, err
	}
	rows, err = c.Query(ctx, `SELECT instance_id, units FROM leases WHERE tenant_id = ?1 AND pool_id = ?2 AND expires_at > ?3
		AND instance_id IN (SELECT instance_id FROM pool_reservations WHERE tenant_id = ?1 AND pool_id = ?2)`, tid, poolID, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	held := map[[2]string]int64{}
	for rows.Next() {
		var inst, units string
		if err := rows.Scan(&inst, &units); err != nil {
			return nil, err
		}
		us, err := parseUnits(units)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			held[[2]string{inst, u.Feature}] += u.Units
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i].Held = held[[2]string{rs[i].InstanceID, rs[i].Feature}]
	}
	return rs, nil
}

// reservedForOthers is, per feature, the unused units reserved for
// instances other than instance: what a grant to it must leave free.
func reservedForOthers(ctx context.Context, c Conn, tid, poolID, instance string, now int64) (map[string]int64, error) {
	rs, err := reservations(ctx, c, tid, poolID, now)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, r := range rs {
		if r.InstanceID != instance {
			out[r.Feature] += r.Unused()
		}
	}
	return out, nil
}
