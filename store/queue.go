package store

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// The queue of a pool is its rows in capability_waiters, in seq order; a
// waiter is live while its expires_at is after now. Whether a grant may
// pass the queue is decided by the grant's own conditional UPDATE
// (poolTx.TakeUnits), so it needs no read of its own.

// EnqueueWaiter appends w to its pool's queue with the pool locked, so
// that on every engine a waiter's seq is in the order waiters joined. See
// licensor.QueueStore.
func (db *DB) EnqueueWaiter(ctx context.Context, w *licensor.Waiter) (int, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return 0, err
	}
	created := Micros(db.stamp(w.CreatedAt))
	pos := 0
	err = db.write(ctx, "EnqueueWaiter", func(tx Conn) error {
		if err := db.lockPool(ctx, tx, tid, w.PoolID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO capability_waiters
			(tenant_id, pool_id, id, contract_id, instance_id, units, created_at, deadline, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			tid, w.PoolID, w.ID, w.ContractID, w.InstanceID, formatUnits(w.Units), created,
			Micros(w.Deadline), Micros(w.ExpiresAt)).Scan(&w.Seq)
		if err = db.translate(err, Messages{
			Unique:     fmt.Sprintf("waiter %s is already in the queue", w.ID),
			ForeignKey: fmt.Sprintf("pool %s not found", w.PoolID),
		}); err != nil {
			return err
		}
		pos, err = queuePosition(ctx, tx, tid, w.PoolID, w.Seq, created)
		return err
	})
	return pos, err
}

// queuePosition is 1 plus the live waiters ahead of seq at now.
func queuePosition(ctx context.Context, c Conn, tid, poolID string, seq, now int64) (int, error) {
	var ahead int
	err := c.QueryRow(ctx, `SELECT COUNT(*) FROM capability_waiters
		WHERE tenant_id = ? AND pool_id = ? AND seq < ? AND expires_at > ?`, tid, poolID, seq, now).Scan(&ahead)
	return ahead + 1, err
}

// WaiterPosition returns a live waiter's position. See licensor.QueueStore.
func (db *DB) WaiterPosition(ctx context.Context, poolID, id string, now time.Time) (int, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return 0, err
	}
	// One query: the live waiters up to and including this one; none
	// when this one is gone (its seq is then NULL).
	at := Micros(db.stamp(now))
	var pos int
	err = db.read().QueryRow(ctx, `SELECT COUNT(*) FROM capability_waiters
		WHERE tenant_id = ?1 AND pool_id = ?2 AND expires_at > ?3 AND seq <= (SELECT seq FROM capability_waiters
			WHERE tenant_id = ?1 AND pool_id = ?2 AND id = ?4 AND expires_at > ?3)`, tid, poolID, at, id).Scan(&pos)
	switch {
	case err != nil:
		return 0, db.Final("WaiterPosition", err)
	case pos == 0:
		return 0, licensor.Errorf(licensor.ENOTFOUND, "%s", waiterGone(id))
	}
	return pos, nil
}

func waiterGone(id string) string {
	return fmt.Sprintf("waiter %s is no longer in the queue", id)
}

// RenewWaiter extends a waiter's hold on its place, even one that lapsed
// while its server was stalled (but not one deleted, nor past its
// deadline). See licensor.QueueStore.
func (db *DB) RenewWaiter(ctx context.Context, poolID, id string, now, until time.Time) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "RenewWaiter", func(c Conn) error {
		n, err := c.Exec(ctx, `UPDATE capability_waiters
			SET expires_at = CASE WHEN deadline < ?1 THEN deadline ELSE ?1 END
			WHERE tenant_id = ?2 AND pool_id = ?3 AND id = ?4 AND deadline > ?5`,
			Micros(until), tid, poolID, id, Micros(db.stamp(now)))
		return affected(n, err, waiterGone(id))
	})
}

// LeaveQueue removes a waiter. See licensor.QueueStore.
func (db *DB) LeaveQueue(ctx context.Context, poolID, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "LeaveQueue", func(c Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM capability_waiters WHERE tenant_id = ? AND pool_id = ? AND id = ?`, tid, poolID, id)
		return err
	})
}

// QueueLengths counts the live waiters of each pool that has any. See
// licensor.QueueStore.
func (db *DB) QueueLengths(ctx context.Context, now time.Time) ([]licensor.QueueLength, error) {
	tid, scoped := licensor.TenantFrom(ctx)
	q := `SELECT tenant_id, pool_id, COUNT(*) FROM capability_waiters WHERE expires_at > ?`
	args := []any{Micros(db.stamp(now))}
	if scoped {
		q += ` AND tenant_id = ?`
		args = append(args, tid)
	}
	rows, err := db.read().Query(ctx, q+` GROUP BY tenant_id, pool_id ORDER BY tenant_id, pool_id`, args...)
	if err != nil {
		return nil, db.Final("QueueLengths", err)
	}
	out, err := All(rows, func(s Scanner) (l licensor.QueueLength, err error) {
		return l, s.Scan(&l.TenantID, &l.PoolID, &l.Waiting)
	})
	rows.Close()
	return out, db.Final("QueueLengths", err)
}

// purgeWaiters deletes lapsed waiters (of the scoped tenant, if scoped).
func purgeWaiters(ctx context.Context, c Conn, now int64, tid string, scoped bool) error {
	q := `DELETE FROM capability_waiters WHERE expires_at <= ?`
	args := []any{now}
	if scoped {
		q += ` AND tenant_id = ?`
		args = append(args, tid)
	}
	_, err := c.Exec(ctx, q, args...)
	return err
}
