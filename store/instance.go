package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/licensor/licensor"
)

// RefreshInstanceSQL refreshes an existing instance. SET expressions see
// the old row, so the clone check compares the previous host and time. ?1
// is the clone window in µs, ?2 the host, ?3 now in µs; ?11 true restricts
// it to an instance that needs no seat taken: one that holds its seat
// already, or a check-in (?12 TakesSeat) that takes none.
const RefreshInstanceSQL = `UPDATE instances SET
		clone_suspected_at = CASE WHEN CAST(?1 AS BIGINT) > 0 AND CAST(?2 AS TEXT) <> '' AND host <> '' AND host <> CAST(?2 AS TEXT)
			AND CAST(?3 AS BIGINT) - last_seen_at < CAST(?1 AS BIGINT)
			THEN CAST(?3 AS BIGINT) ELSE clone_suspected_at END,
		host = ?2, last_seen_at = ?3, environment = ?4, remote_addr = ?5, license_id = ?6, license_expires_at = ?7
	WHERE tenant_id = ?8 AND contract_id = ?9 AND instance_id = ?10
		AND (NOT CAST(?11 AS BOOLEAN) OR seat OR NOT CAST(?12 AS BOOLEAN))
	RETURNING ` + InstanceCols

// RefreshArgs are RefreshInstanceSQL's arguments for c of tenant tid at
// now (µs); onlyWithoutSeat is ?11.
func RefreshArgs(tid string, c licensor.Checkin, now int64, onlyWithoutSeat bool) []any {
	return []any{c.CloneWindow.Microseconds(), c.Host, now, c.Environment, c.RemoteAddr, c.LicenseID, Micros(c.LicenseExpiresAt),
		tid, c.ContractID, c.InstanceID, onlyWithoutSeat, c.TakesSeat}
}

const insertInstanceSQL = `INSERT INTO instances (` + InstanceCols + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0) RETURNING ` + InstanceCols

// takeSeatSQL takes a seat only if one is free, decided by this one
// statement against the contract row (max_seats).
const takeSeatSQL = `UPDATE contracts SET seats_used = seats_used + 1
	WHERE tenant_id = ? AND id = ? AND (max_seats = 0 OR seats_used < max_seats)
	RETURNING seats_used`

// CheckinStatements are the statements of the check-in transaction, for
// an engine that prepares its hot statements when it opens (SQLite).
var CheckinStatements = []string{RefreshInstanceSQL, insertInstanceSQL, takeSeatSQL}

// Checkin records a license issued to an instance:
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
//     CloneSuspectedAt to Now;
//   - Telemetry, if any, becomes the instance's latest and a point of its
//     history in the same transaction.
//
// The seat limit is the contract row's max_seats: the row is the truth even
// when an UpdateContract lands between the caller's read of the contract
// and this check-in. The engine decides how the transaction runs
// (Engine.Checkin, around CheckinTx): SQLite answers a refresh that decides nothing from its
// write-behind and commits the rest in groups, PostgreSQL runs such a
// refresh as one statement on its relaxed-durability pool. ENOTFOUND for
// an unknown contract.
func (db *DB) Checkin(ctx context.Context, c licensor.Checkin) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now := Micros(db.stamp(c.Now))
	inst, err := db.eng.Checkin(ctx, tid, c, now)
	return inst, db.Final("Checkin", err)
}

// CheckinTx is Checkin's transaction in tx, for an engine's Checkin hook:
// c of tenant tid at now (µs), with its telemetry.
func (db *DB) CheckinTx(ctx context.Context, tx Conn, tid string, c licensor.Checkin, now int64) (*licensor.Instance, error) {
	inst, err := db.checkin(ctx, tx, tid, c, now)
	if err != nil {
		return nil, err
	}
	return inst, recordTelemetry(ctx, tx, tid, c, inst)
}

// checkin is Checkin's transaction, without the telemetry.
func (db *DB) checkin(ctx context.Context, tx Conn, tid string, c licensor.Checkin, now int64) (*licensor.Instance, error) {
	inst, err := ScanInstance(tx.QueryRow(ctx, RefreshInstanceSQL, RefreshArgs(tid, c, now, false)...))
	switch {
	case err == nil:
		if inst.Seat || !c.TakesSeat {
			return inst, nil
		}
		// A released seat competes again; if none is free the refresh
		// above is rolled back with everything else.
		if err := takeSeat(ctx, tx, tid, c.ContractID); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE instances SET seat = `+db.d.True+`
			WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, tid, c.ContractID, c.InstanceID); err != nil {
			return nil, err
		}
		inst.Seat = true
		return inst, nil
	case !NoRows(err):
		return nil, err
	}
	if c.TakesSeat {
		if err := takeSeat(ctx, tx, tid, c.ContractID); err != nil {
			if licensor.ErrorCode(err) != licensor.EEXHAUSTED {
				return nil, err
			}
			// takeSeat may have waited for another transaction (another
			// server's) that took the last seat for this very instance:
			// then the instance exists now, and a second run refreshes it.
			again, err2 := Exists(ctx, tx, `SELECT 1 FROM instances
				WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, tid, c.ContractID, c.InstanceID)
			if err2 != nil {
				return nil, err2
			}
			if again {
				return nil, ErrRetry
			}
			return nil, err
		}
	}
	inst, err = ScanInstance(tx.QueryRow(ctx, insertInstanceSQL,
		tid, c.ContractID, c.InstanceID, c.TakesSeat, c.Environment, c.Host, c.RemoteAddr,
		now, now, c.LicenseID, Micros(c.LicenseExpiresAt)))
	if db.d.Violates(err, "instances_pkey") {
		// The same new instance checked in through another request (or
		// server) at the same moment and committed first; this seat is
		// rolled back, and the second run refreshes that row.
		return nil, ErrRetry
	}
	return inst, db.translate(err, Messages{ForeignKey: fmt.Sprintf("contract %s not found", c.ContractID)})
}

// takeSeat counts one more seat used on a contract if one is free.
func takeSeat(ctx context.Context, tx Conn, tid, contractID string) error {
	var used int64
	err := tx.QueryRow(ctx, takeSeatSQL, tid, contractID).Scan(&used)
	if !NoRows(err) {
		return err
	}
	var maxSeats int64
	err = tx.QueryRow(ctx, `SELECT max_seats FROM contracts WHERE tenant_id = ? AND id = ?`, tid, contractID).Scan(&maxSeats)
	if err != nil {
		return NotFound(err, fmt.Sprintf("contract %s not found", contractID))
	}
	return licensor.Errorf(licensor.EEXHAUSTED, "all %d seats of contract %s are taken", maxSeats, contractID)
}

// recordTelemetry makes c.Telemetry the instance's latest and a point of
// its history, inside the check-in's transaction, in one round trip where
// the engine batches.
func recordTelemetry(ctx context.Context, tx Conn, tid string, c licensor.Checkin, inst *licensor.Instance) error {
	if c.Telemetry == nil {
		return nil
	}
	b, err := json.Marshal(c.Telemetry)
	if err != nil {
		return err
	}
	now := Micros(Norm(c.Now))
	if _, err := ExecAll(ctx, tx,
		Stmt{`UPDATE instances SET telemetry_json = ?, telemetry_at = ?
			WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, []any{string(b), now, tid, c.ContractID, c.InstanceID}},
		Stmt{`INSERT INTO telemetry_history (tenant_id, contract_id, instance_id, at, id, telemetry_json)
			VALUES (?, ?, ?, ?, ?, ?)`, []any{tid, c.ContractID, c.InstanceID, now, licensor.NewID(licensor.PrefixTelemetry), string(b)}},
	); err != nil {
		return err
	}
	t := *c.Telemetry
	inst.Telemetry, inst.TelemetryAt = &t, FromMicros(now)
	return nil
}

// GetInstance returns one instance of the scoped tenant, as of every
// check-in that has answered (Engine.Sync). ENOTFOUND.
func (db *DB) GetInstance(ctx context.Context, contractID, instanceID string) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("GetInstance", err)
	}
	inst, err := ScanInstance(db.read().QueryRow(ctx, InstanceByKeySQL, tid, contractID, instanceID))
	if err != nil {
		return nil, db.Final("GetInstance", NotFound(err, fmt.Sprintf("instance %s of contract %s not found", instanceID, contractID)))
	}
	return inst, nil
}

// InstanceByKeySQL reads one instance by tenant, contract and instance id.
const InstanceByKeySQL = `SELECT ` + InstanceCols + ` FROM instances
	WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`

// ListInstances lists the scoped tenant's instances. With f.ContractID they
// are ordered by instance id and f.After is the last instance id of the
// previous page. Without it they are ordered by (contract id, instance id)
// — an instance id is only unique within its contract — and f.After is
// the last instance's ContractID + " " + ID (ids hold no spaces).
func (db *DB) ListInstances(ctx context.Context, f licensor.InstanceFilter) ([]*licensor.Instance, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("ListInstances", err)
	}
	q := `SELECT ` + InstanceCols + ` FROM instances WHERE tenant_id = ?`
	args := []any{tid}
	if f.SeatHolders {
		q += ` AND seat = ` + db.d.True
	}
	if f.ContractID != "" {
		q += ` AND contract_id = ? AND instance_id > ?`
		args = append(args, f.ContractID, opts.After)
	} else if opts.After != "" {
		contract, instance, ok := strings.Cut(opts.After, " ")
		if !ok {
			return nil, licensor.Errorf(licensor.EINVALID, "page token %q is not an instance cursor", opts.After)
		}
		q += ` AND (contract_id, instance_id) > (CAST(? AS TEXT), CAST(? AS TEXT))`
		args = append(args, contract, instance)
	}
	q += ` ORDER BY contract_id, instance_id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListInstances", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanInstance)
	return out, db.Final("ListInstances", err)
}

// ReleaseSeat frees the seat an instance holds; the instance's next
// check-in competes for a seat again. Releasing an instance that holds no
// seat does nothing. ENOTFOUND.
func (db *DB) ReleaseSeat(ctx context.Context, contractID, instanceID string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	err = db.write(ctx, "ReleaseSeat", func(tx Conn) error {
		// Locked: two releases of one instance at once free one seat.
		var seat bool
		err := tx.QueryRow(ctx, `SELECT seat FROM instances WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`+db.d.ForUpdate,
			tid, contractID, instanceID).Scan(&seat)
		if err != nil {
			return NotFound(err, fmt.Sprintf("instance %s of contract %s not found", instanceID, contractID))
		}
		if !seat {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE instances SET seat = `+db.d.False+` WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`,
			tid, contractID, instanceID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE contracts SET seats_used = seats_used - 1
			WHERE tenant_id = ? AND id = ? AND seats_used > 0`, tid, contractID)
		return err
	})
	db.eng.InstancesChanged() // even on error: the seat may be gone
	return err
}
