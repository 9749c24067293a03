package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// refreshInstance refreshes an existing instance. SET expressions see the
// old row, so the clone check compares the previous host and time. $11
// true restricts it to an instance that needs no seat taken: one that holds
// its seat already, or a check-in that takes none.
const refreshInstance = `UPDATE instances SET
		clone_suspected_at = CASE WHEN $1::bigint > 0 AND $2::text <> '' AND host <> '' AND host <> $2::text
			AND $3::bigint - last_seen_at < $1::bigint
			THEN $3::bigint ELSE clone_suspected_at END,
		host = $2, last_seen_at = $3, environment = $4, remote_addr = $5, license_id = $6, license_expires_at = $7
	WHERE tenant_id = $8 AND contract_id = $9 AND instance_id = $10
		AND (NOT $11::boolean OR seat OR NOT $12::boolean)
	RETURNING ` + store.InstanceCols

// Checkin records a license issued to an instance, with exactly the
// semantics of store/sqlite's Checkin:
//
//   - an existing instance is refreshed (last seen, license, host, address,
//     environment) and keeps its seat;
//   - a new instance, or one whose seat was released, that TakesSeat takes
//     one only if the contract has one free, decided by a conditional UPDATE
//     of the contract's seats_used counter in the same transaction (its row
//     lock makes concurrent takers, on any server, queue and re-check);
//     EEXHAUSTED otherwise, with nothing changed;
//   - a check-in with TakesSeat false never takes a seat, and does not give
//     up one the instance holds (that is ReleaseSeat's job);
//   - a different Host within CloneWindow of the last check-in sets
//     CloneSuspectedAt to Now.
//
// The common case, a refresh of an instance that needs no seat taken, is
// one statement and one round trip, on the relaxed-durability connections
// (see WithDurableRefresh). The seat limit is the contract row's
// max_seats. ENOTFOUND for an unknown contract.
func (db *DB) Checkin(ctx context.Context, c licensor.Checkin) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("instance id", c.InstanceID); err != nil {
		return nil, err
	}
	now := micros(db.stamp(c.Now))
	refreshArgs := func(onlyWithoutSeat bool) []any {
		return []any{c.CloneWindow.Microseconds(), c.Host, now, c.Environment, c.RemoteAddr, c.LicenseID, micros(c.LicenseExpiresAt),
			tid, c.ContractID, c.InstanceID, onlyWithoutSeat, c.TakesSeat}
	}
	if c.Telemetry == nil {
		inst, err := store.ScanInstance(db.relaxed.QueryRow(ctx, refreshInstance, refreshArgs(true)...))
		if err == nil {
			return inst, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, driverErr("Checkin", err)
		}
	}
	// A new instance, one that must win a seat back, or telemetry to
	// record with the check-in: one transaction.
	var inst *licensor.Instance
	checkin := func(tx pgx.Tx) error {
		var err error
		inst, err = store.ScanInstance(tx.QueryRow(ctx, refreshInstance, refreshArgs(false)...))
		switch {
		case err == nil:
			if inst.Seat || !c.TakesSeat {
				return nil
			}
			// A released seat competes again; if none is free the
			// refresh above is rolled back with everything else.
			if err := takeSeat(ctx, tx, tid, c.ContractID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE instances SET seat = true
				WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3`, tid, c.ContractID, c.InstanceID); err != nil {
				return err
			}
			inst.Seat = true
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if c.TakesSeat {
			if err := takeSeat(ctx, tx, tid, c.ContractID); err != nil {
				if licensor.ErrorCode(err) != licensor.EEXHAUSTED {
					return err
				}
				// takeSeat may have waited for another transaction that
				// took the last seat for this very instance: then the
				// instance exists now, and a second run refreshes it.
				// (Each statement reads the latest committed data.)
				again, err2 := exists(ctx, tx, `SELECT 1 FROM instances
					WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3`, tid, c.ContractID, c.InstanceID)
				if err2 != nil {
					return err2
				}
				if again {
					return errRetry
				}
				return err
			}
		}
		inst, err = store.ScanInstance(tx.QueryRow(ctx, `INSERT INTO instances (`+store.InstanceCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, '', 0) RETURNING `+store.InstanceCols,
			tid, c.ContractID, c.InstanceID, c.TakesSeat, c.Environment, c.Host, c.RemoteAddr,
			now, now, c.LicenseID, micros(c.LicenseExpiresAt)))
		if violates(err, "instances_pkey") {
			// The same new instance checked in through another request
			// (or server) at the same moment and committed first; this
			// seat is rolled back, and the second run refreshes that row.
			return errRetry
		}
		return constraints{foreignKey: fmt.Sprintf("contract %s not found", c.ContractID)}.translate(err)
	}
	err = db.tx(ctx, "Checkin", func(tx pgx.Tx) error {
		if err := checkin(tx); err != nil {
			return err
		}
		return recordTelemetry(ctx, tx, tid, c, inst)
	})
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// takeSeat counts one more seat used on a contract if one is free.
func takeSeat(ctx context.Context, tx pgx.Tx, tid, contractID string) error {
	var used int32
	err := tx.QueryRow(ctx, `UPDATE contracts SET seats_used = seats_used + 1
		WHERE tenant_id = $1 AND id = $2 AND (max_seats = 0 OR seats_used < max_seats)
		RETURNING seats_used`, tid, contractID).Scan(&used)
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var maxSeats int32
	err = tx.QueryRow(ctx, `SELECT max_seats FROM contracts WHERE tenant_id = $1 AND id = $2`, tid, contractID).Scan(&maxSeats)
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
	inst, err := store.ScanInstance(db.pool.QueryRow(ctx, `SELECT `+store.InstanceCols+` FROM instances
		WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3`, tid, contractID, instanceID))
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
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + store.InstanceCols + ` FROM instances WHERE tenant_id = $1`
	args := []any{tid}
	if f.SeatHolders {
		q += ` AND seat`
	}
	if f.ContractID != "" {
		q += ` AND contract_id = $2 AND instance_id > $3`
		args = append(args, f.ContractID, opts.After)
	} else if opts.After != "" {
		contract, instance, ok := strings.Cut(opts.After, " ")
		if !ok {
			return nil, licensor.Errorf(licensor.EINVALID, "page token %q is not an instance cursor", opts.After)
		}
		q += ` AND (contract_id, instance_id) > ($2, $3)`
		args = append(args, contract, instance)
	}
	args = append(args, opts.Limit)
	q += fmt.Sprintf(` ORDER BY contract_id, instance_id LIMIT $%d`, len(args))
	rows, err := db.pool.Query(ctx, q, args...)
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
	return db.tx(ctx, "ReleaseSeat", func(tx pgx.Tx) error {
		// FOR UPDATE: two releases of one instance at once free one seat.
		var seat bool
		err := tx.QueryRow(ctx, `SELECT seat FROM instances WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3 FOR UPDATE`,
			tid, contractID, instanceID).Scan(&seat)
		if err != nil {
			return notFound(err, fmt.Sprintf("instance %s of contract %s not found", instanceID, contractID))
		}
		if !seat {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE instances SET seat = false WHERE tenant_id = $1 AND contract_id = $2 AND instance_id = $3`,
			tid, contractID, instanceID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE contracts SET seats_used = seats_used - 1
			WHERE tenant_id = $1 AND id = $2 AND seats_used > 0`, tid, contractID)
		return err
	})
}
