package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// The statements of Checkin, prepared once (see writeStmts).
const (
	// Refresh, if the instance exists. SET expressions see the old row, so
	// the clone check compares the previous host and time. ?1 is the clone
	// window in µs, ?2 the host, ?3 now in µs.
	checkinRefreshSQL = `UPDATE instances SET
			clone_suspected_at = CASE WHEN ?1 > 0 AND ?2 <> '' AND host <> '' AND host <> ?2 AND ?3 - last_seen_at < ?1
				THEN ?3 ELSE clone_suspected_at END,
			host = ?2, last_seen_at = ?3, environment = ?4, remote_addr = ?5, license_id = ?6, license_expires_at = ?7
		WHERE tenant_id = ?8 AND contract_id = ?9 AND instance_id = ?10
		RETURNING ` + store.InstanceCols
	checkinInsertSQL = `INSERT INTO instances (` + store.InstanceCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0) RETURNING ` + store.InstanceCols
	// The seat is taken only if one is free, decided by this one statement
	// against the contract row (max_seats), inside Checkin's transaction.
	takeSeatSQL = `UPDATE contracts SET seats_used = seats_used + 1
		WHERE tenant_id = ? AND id = ? AND (max_seats = 0 OR seats_used < max_seats)
		RETURNING seats_used`
)

// Checkin records a license issued to an instance, in one write
// transaction (a refresh of an instance that keeps its seat is written
// behind, see writebehind.go):
//
//   - an existing instance is refreshed (last seen, license, host, address,
//     environment) and keeps its seat;
//   - a new instance, or one whose seat was released, that TakesSeat takes
//     one only if the contract has one free, decided by a conditional UPDATE
//     of the contract's seats_used counter in the same transaction;
//     EEXHAUSTED otherwise, with nothing changed;
//   - a check-in with TakesSeat false never takes a seat, and does not give
//     up one the instance holds (that is ReleaseSeat's job);
//   - a different Host within CloneWindow of the last check-in sets
//     CloneSuspectedAt to Now.
//
// The seat limit is the contract row's max_seats: the row is
// the truth even when an UpdateContract lands between the caller's read of
// the contract and this check-in. ENOTFOUND for an unknown contract.
func (db *DB) Checkin(ctx context.Context, c licensor.Checkin) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("instance id", c.InstanceID); err != nil {
		return nil, err
	}
	now := micros(db.stamp(c.Now))
	window := c.CloneWindow.Microseconds()
	if inst, ok, err := db.checkinBehind(ctx, tid, c, now, window); err != nil || ok {
		return inst, err
	}
	k := instKey{tid, c.ContractID, c.InstanceID}
	gen, readAt := db.wb.generation(), time.Now()
	if db.wb.queued(k) {
		// The synchronous write below must land after the queued one.
		if err := db.flushPending(); err != nil {
			return nil, err
		}
	}
	var inst *licensor.Instance
	checkin := func(ctx context.Context, tx *sql.Tx) error {
		var err error
		inst, err = store.ScanInstance(tx.StmtContext(ctx, db.ws.checkinRefresh).QueryRowContext(ctx,
			window, c.Host, now, c.Environment, c.RemoteAddr, c.LicenseID, micros(c.LicenseExpiresAt),
			tid, c.ContractID, c.InstanceID))
		switch {
		case err == nil:
			if inst.Seat || !c.TakesSeat {
				return nil
			}
			// A released seat competes again; if none is free the
			// refresh above is rolled back with everything else.
			if err := db.takeSeat(ctx, tx, tid, c.ContractID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE instances SET seat = 1
				WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, tid, c.ContractID, c.InstanceID); err != nil {
				return err
			}
			inst.Seat = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if c.TakesSeat {
			if err := db.takeSeat(ctx, tx, tid, c.ContractID); err != nil {
				return err
			}
		}
		inst, err = store.ScanInstance(tx.StmtContext(ctx, db.ws.checkinInsert).QueryRowContext(ctx,
			tid, c.ContractID, c.InstanceID, boolInt(c.TakesSeat), c.Environment, c.Host, c.RemoteAddr,
			now, now, c.LicenseID, micros(c.LicenseExpiresAt)))
		return constraints{foreignKey: fmt.Sprintf("contract %s not found", c.ContractID)}.translate(err)
	}
	err = db.writeBatched(ctx, "Checkin", func(ctx context.Context, tx *sql.Tx) error {
		if err := checkin(ctx, tx); err != nil {
			return err
		}
		return recordTelemetry(ctx, tx, tid, c, inst)
	})
	if err != nil {
		return nil, err
	}
	db.wb.remember(k, inst, gen, readAt)
	return inst, nil
}

// takeSeat counts one more seat used on a contract if one is free.
func (db *DB) takeSeat(ctx context.Context, tx *sql.Tx, tid, contractID string) error {
	var used int
	err := tx.StmtContext(ctx, db.ws.takeSeat).QueryRowContext(ctx, tid, contractID).Scan(&used)
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var maxSeats int
	err = tx.QueryRowContext(ctx, `SELECT max_seats FROM contracts WHERE tenant_id = ? AND id = ?`, tid, contractID).Scan(&maxSeats)
	if err != nil {
		return notFound(err, fmt.Sprintf("contract %s not found", contractID))
	}
	return licensor.Errorf(licensor.EEXHAUSTED, "all %d seats of contract %s are taken", maxSeats, contractID)
}

// GetInstance returns one instance of the scoped tenant. ENOTFOUND.
func (db *DB) GetInstance(ctx context.Context, contractID, instanceID string) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.syncReads(); err != nil {
		return nil, driverErr("GetInstance", err)
	}
	inst, err := store.ScanInstance(db.rd.QueryRowContext(ctx, `SELECT `+store.InstanceCols+` FROM instances
		WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, tid, contractID, instanceID))
	if err != nil {
		return nil, driverErr("GetInstance", notFound(err, fmt.Sprintf("instance %s of contract %s not found", instanceID, contractID)))
	}
	return inst, nil
}

// ListInstances lists the scoped tenant's instances. With f.ContractID they
// are ordered by instance id and f.After is the last instance id of the
// previous page. Without it they are ordered by (contract id, instance id)
// — an instance id is only unique within its contract — and f.After is
// the last instance's ContractID + " " + ID (ids hold no spaces).
func (db *DB) ListInstances(ctx context.Context, f licensor.InstanceFilter) ([]*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.syncReads(); err != nil {
		return nil, driverErr("ListInstances", err)
	}
	opts, err := page(f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + store.InstanceCols + ` FROM instances WHERE tenant_id = ?`
	args := []any{tid}
	if f.SeatHolders {
		q += ` AND seat = 1`
	}
	if f.ContractID != "" {
		q += ` AND contract_id = ? AND instance_id > ?`
		args = append(args, f.ContractID, opts.After)
	} else if opts.After != "" {
		contract, instance, ok := strings.Cut(opts.After, " ")
		if !ok {
			return nil, licensor.Errorf(licensor.EINVALID, "page token %q is not an instance cursor", opts.After)
		}
		q += ` AND (contract_id, instance_id) > (?, ?)`
		args = append(args, contract, instance)
	}
	q += ` ORDER BY contract_id, instance_id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.rd.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListInstances", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanInstance)
	return out, driverErr("ListInstances", err)
}

// ReleaseSeat frees the seat an instance holds; the instance's next
// check-in competes for a seat again. Releasing an instance that holds no
// seat does nothing. ENOTFOUND.
func (db *DB) ReleaseSeat(ctx context.Context, contractID, instanceID string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	err = db.write(ctx, "ReleaseSeat", func(tx *sql.Tx) error {
		var seat bool
		err := tx.QueryRowContext(ctx, `SELECT seat FROM instances WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`,
			tid, contractID, instanceID).Scan(&seat)
		if err != nil {
			return notFound(err, fmt.Sprintf("instance %s of contract %s not found", instanceID, contractID))
		}
		if !seat {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET seat = 0 WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`,
			tid, contractID, instanceID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE contracts SET seats_used = seats_used - 1
			WHERE tenant_id = ? AND id = ? AND seats_used > 0`, tid, contractID)
		return err
	})
	db.wb.invalidate() // even on error: the seat may be gone
	return err
}
