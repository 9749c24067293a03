package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/licensor/licensor"
)

// Checkin records a license issued to an instance:
//
//   - an existing instance is refreshed (last seen, license, host, address,
//     environment) and keeps its seat;
//   - a new instance, or one whose seat was released, that TakesSeat takes
//     one only if the contract has one free, decided by a conditional UPDATE
//     of the contract's seats_used counter in the same transaction (on
//     PostgreSQL its row lock makes concurrent takers, on any server, queue
//     and re-check); EEXHAUSTED otherwise, with nothing changed;
//   - a check-in with TakesSeat false (a non-production instance of a
//     production-URL contract) never takes a seat, and does not give up
//     one the instance holds (that is ReleaseSeat's job); an instance that
//     holds neither a seat nor a non-production slot takes a slot if the
//     contract has one free, decided like a seat by a conditional UPDATE of
//     nonprod_used against max_nonprod_urls; EEXHAUSTED otherwise, with
//     nothing changed. An instance holding its slot refreshes without
//     counting again, and one that takes a seat gives its slot up: an
//     instance is counted once, by a seat or by a slot;
//   - a different Host, or a different Fingerprint, within CloneWindow of
//     the last check-in sets CloneSuspectedAt to Now (an empty one compares
//     with nothing, and an empty Fingerprint keeps the one stored);
//   - Telemetry becomes the instance's latest and a point of its history,
//     in the same transaction.
//
// The limits are the contract row's max_seats and max_nonprod_urls: the row is the truth even
// when an UpdateContract lands between the caller's read of the contract
// and this check-in. How the check-in commits is the engine's
// (CheckinEngine). ENOTFOUND for an unknown contract.
func (db *DB) Checkin(ctx context.Context, in licensor.Checkin) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := licensor.ValidateID("instance id", in.InstanceID); err != nil {
		return nil, err
	}
	c := db.newCheckin(in, tid)
	if ce, ok := db.eng.(CheckinEngine); ok {
		inst, err := ce.Checkin(ctx, c)
		return inst, db.Final("Checkin", err)
	}
	return c.Write(ctx, db.eng)
}

// newCheckin is the engines' view of a check-in by tenant tid.
func (db *DB) newCheckin(in licensor.Checkin, tid string) Checkin {
	return Checkin{Checkin: in, Tenant: tid, Now: Micros(db.stamp(in.Now)), Window: in.CloneWindow.Microseconds(), db: db}
}

// NewCheckin is the engines' view of a check-in of the tenant in ctx,
// for tests of an engine's check-in paths.
func (db *DB) NewCheckin(ctx context.Context, in licensor.Checkin) (*Checkin, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	c := db.newCheckin(in, tid)
	return &c, nil
}

// Write runs the check-in's transaction through eng's Write and returns
// the instance it left. c comes by value: it escapes here, and only here.
func (c Checkin) Write(ctx context.Context, eng Engine) (*licensor.Instance, error) {
	if err := eng.Write(ctx, "Checkin", func(tx Conn) error { return c.Tx(ctx, tx) }); err != nil {
		return nil, c.db.Final("Checkin", err)
	}
	return c.Instance, nil
}

func (c *Checkin) refreshArgs(onlyWithoutSeat bool) []any {
	return []any{c.Window, c.Host, c.Now, c.Environment, c.RemoteAddr, c.LicenseID, Micros(c.LicenseExpiresAt),
		c.Tenant, c.ContractID, c.InstanceID, onlyWithoutSeat, c.TakesSeat, c.Fingerprint,
		HourOf(c.Now), HourOf(Micros(c.LicenseExpiresAt))}
}

// Refresh runs the check-in as one statement on conn if that is all it
// takes: the instance exists and needs no seat taken, and the check-in
// carries no telemetry. false: it needs its transaction (Tx).
func (c *Checkin) Refresh(ctx context.Context, conn Conn) (bool, error) {
	if c.Telemetry != nil {
		return false, nil
	}
	inst, err := c.refresh(ctx, conn, true)
	if NoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.Instance = inst
	return true, nil
}

// Tx runs the check-in in tx, a write transaction, from scratch: an engine
// may run it more than once.
func (c *Checkin) Tx(ctx context.Context, tx Conn) error {
	db := c.db
	c.Instance = nil
	inst, err := c.refresh(ctx, tx, false)
	switch {
	case err == nil:
		if err := c.takeForExisting(ctx, tx, inst); err != nil {
			return err
		}
		c.Instance = inst
		return c.telemetry(ctx, tx)
	case !NoRows(err):
		return err
	}
	take := db.takeSeat
	if !c.TakesSeat {
		take = db.takeNonProd
	}
	if err := take(ctx, tx, c.Tenant, c.ContractID); err != nil {
		if licensor.ErrorCode(err) != licensor.EEXHAUSTED {
			return err
		}
		// take may have waited for another transaction (another
		// server's, on PostgreSQL) that took the last seat (or slot) for
		// this very instance: then the instance exists now, and a second
		// run refreshes it. Each statement reads the latest committed
		// data.
		again, err2 := Exists(ctx, tx, `SELECT 1 FROM instances
			WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, c.Tenant, c.ContractID, c.InstanceID)
		if err2 != nil {
			return err2
		}
		if again {
			return ErrRetry
		}
		return err
	}
	inst, err = ScanInstance(tx.QueryRow(ctx, `INSERT INTO instances (`+InstanceCols+`, last_seen_hour, license_expires_hour)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0, ?, ?, ?) RETURNING `+InstanceCols,
		c.Tenant, c.ContractID, c.InstanceID, c.TakesSeat, !c.TakesSeat, c.Environment, c.Host, c.RemoteAddr,
		c.Now, c.Now, c.LicenseID, Micros(c.LicenseExpiresAt), c.Fingerprint, HourOf(c.Now), HourOf(Micros(c.LicenseExpiresAt))))
	if db.d.Violates(err, "instances_pkey") {
		// The same new instance checked in through another request (or
		// server) at the same moment and committed first; this seat (or
		// slot) is rolled back, and the second run refreshes that row.
		return ErrRetry
	}
	if err != nil {
		return db.translate(err, Messages{ForeignKey: fmt.Sprintf("contract %s not found", c.ContractID)})
	}
	c.Instance = inst
	return c.telemetry(ctx, tx)
}

// takeSeat counts one more seat used on a contract if one is free.
func (db *DB) takeSeat(ctx context.Context, tx Conn, tid, contractID string) error {
	var used int32
	err := tx.QueryRow(ctx, `UPDATE contracts SET seats_used = seats_used + 1
		WHERE tenant_id = ? AND id = ? AND (max_seats = 0 OR seats_used < max_seats)
		RETURNING seats_used`, tid, contractID).Scan(&used)
	if !NoRows(err) {
		return err
	}
	var maxSeats int32
	err = tx.QueryRow(ctx, `SELECT max_seats FROM contracts WHERE tenant_id = ? AND id = ?`, tid, contractID).Scan(&maxSeats)
	if err != nil {
		return NotFound(err, fmt.Sprintf("contract %s not found", contractID))
	}
	return licensor.Errorf(licensor.EEXHAUSTED, "all %d seats of contract %s are taken", maxSeats, contractID)
}

// takeForExisting takes what an existing instance inst lacks for this
// check-in, in tx after its refresh: a seat if it takes one and holds none
// (giving up its non-production slot, so that it is counted once), a
// non-production slot if it takes no seat and holds neither. If none is
// free the refresh is rolled back with everything else.
func (c *Checkin) takeForExisting(ctx context.Context, tx Conn, inst *licensor.Instance) error {
	db := c.db
	switch {
	case inst.Seat:
		return nil
	case c.TakesSeat:
		if err := db.takeSeat(ctx, tx, c.Tenant, c.ContractID); err != nil {
			return err
		}
		if inst.NonProductionSlot {
			if err := db.giveNonProd(ctx, tx, c.Tenant, c.ContractID); err != nil {
				return err
			}
		}
		inst.Seat, inst.NonProductionSlot = true, false
	case !inst.NonProductionSlot:
		if err := db.takeNonProd(ctx, tx, c.Tenant, c.ContractID); err != nil {
			return err
		}
		inst.NonProductionSlot = true
	default:
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE instances SET seat = ?, nonprod = ?
		WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`,
		inst.Seat, inst.NonProductionSlot, c.Tenant, c.ContractID, c.InstanceID)
	return err
}

// takeNonProd counts one more non-production slot used on a contract if
// one is free, like takeSeat. Its EEXHAUSTED says what the customer can do.
func (db *DB) takeNonProd(ctx context.Context, tx Conn, tid, contractID string) error {
	var used int32
	err := tx.QueryRow(ctx, `UPDATE contracts SET nonprod_used = nonprod_used + 1
		WHERE tenant_id = ? AND id = ? AND (max_nonprod_urls = 0 OR nonprod_used < max_nonprod_urls)
		RETURNING nonprod_used`, tid, contractID).Scan(&used)
	if !NoRows(err) {
		return err
	}
	var limit, held int32
	err = tx.QueryRow(ctx, `SELECT max_nonprod_urls, nonprod_used FROM contracts WHERE tenant_id = ? AND id = ?`,
		tid, contractID).Scan(&limit, &held)
	if err != nil {
		return NotFound(err, fmt.Sprintf("contract %s not found", contractID))
	}
	return licensor.Errorf(licensor.EEXHAUSTED,
		"contract %s allows %d non-production (staging, development, test) URLs and holds %d: "+
			"release one (admin instance release-seat) or ask the vendor to raise the contract's non-production cap",
		contractID, limit, held)
}

// giveNonProd counts one non-production slot fewer on a contract.
func (db *DB) giveNonProd(ctx context.Context, tx Conn, tid, contractID string) error {
	_, err := tx.Exec(ctx, `UPDATE contracts SET nonprod_used = nonprod_used - 1
		WHERE tenant_id = ? AND id = ? AND nonprod_used > 0`, tid, contractID)
	return err
}

// telemetry makes the check-in's telemetry the instance's latest and a
// point of its history, inside the check-in's transaction.
func (c *Checkin) telemetry(ctx context.Context, tx Conn) error {
	if c.Telemetry == nil {
		return nil
	}
	b, err := json.Marshal(c.Telemetry)
	if err != nil {
		return err
	}
	// Two statements that need nothing from each other: one round trip
	// where the engine can.
	if _, _, err := ExecStmts(ctx, tx, []Stmt{
		{`UPDATE instances SET telemetry_json = ?, telemetry_at = ?
			WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`,
			[]any{string(b), c.Now, c.Tenant, c.ContractID, c.InstanceID}},
		{`INSERT INTO telemetry_history (tenant_id, contract_id, instance_id, at, id, telemetry_json)
			VALUES (?, ?, ?, ?, ?, ?)`,
			[]any{c.Tenant, c.ContractID, c.InstanceID, c.Now, licensor.NewID(licensor.PrefixTelemetry), string(b)}},
	}); err != nil {
		return err
	}
	t := *c.Telemetry
	c.Instance.Telemetry, c.Instance.TelemetryAt = &t, FromMicros(c.Now)
	return nil
}

func instanceNotFound(contractID, instanceID string) string {
	return fmt.Sprintf("instance %s of contract %s not found", instanceID, contractID)
}

// GetInstance returns one instance of the scoped tenant. ENOTFOUND.
func (db *DB) GetInstance(ctx context.Context, contractID, instanceID string) (*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("GetInstance", err)
	}
	inst, err := ScanInstance(db.read().QueryRow(ctx, `SELECT `+InstanceCols+` FROM instances
		WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, tid, contractID, instanceID))
	if err != nil {
		return nil, db.Final("GetInstance", NotFound(err, instanceNotFound(contractID, instanceID)))
	}
	return inst, nil
}

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
	q := `SELECT ` + InstanceCols + ` FROM instances WHERE tenant_id = ?`
	args := []any{tid}
	if f.SeatHolders {
		q += ` AND seat`
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
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("ListInstances", err)
	}
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListInstances", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanInstance)
	return out, db.Final("ListInstances", err)
}

// ReleaseSeat frees the seat or the non-production slot an instance holds;
// the instance's next check-in competes for one again. Releasing an
// instance that holds neither does nothing. ENOTFOUND.
func (db *DB) ReleaseSeat(ctx context.Context, contractID, instanceID string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	err = db.write(ctx, "ReleaseSeat", func(tx Conn) error {
		freed, err := releaseSeatTx(ctx, tx, tid, contractID, instanceID)
		if err != nil || freed {
			return err
		}
		ok, err := Exists(ctx, tx, `SELECT 1 FROM instances WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`,
			tid, contractID, instanceID)
		if err == nil && !ok {
			err = &licensor.Error{Code: licensor.ENOTFOUND, Message: instanceNotFound(contractID, instanceID)}
		}
		return err
	})
	db.eng.InstancesChanged() // even on error: the seat may be gone
	return err
}

// releaseSeatTx frees, in tx, the seat or non-production slot an instance
// holds and reports whether it held one. What is held is given up by the
// UPDATE that finds it held: of two releases at once, one frees it.
func releaseSeatTx(ctx context.Context, tx Conn, tid, contractID, instanceID string) (bool, error) {
	freed := false
	for _, col := range [...]struct{ instance, contract string }{{"seat", "seats_used"}, {"nonprod", "nonprod_used"}} {
		n, err := tx.Exec(ctx, `UPDATE instances SET `+col.instance+` = ?
			WHERE tenant_id = ? AND contract_id = ? AND instance_id = ? AND `+col.instance,
			false, tid, contractID, instanceID)
		if err != nil {
			return false, err
		}
		if n == 0 {
			continue
		}
		freed = true
		if _, err := tx.Exec(ctx, `UPDATE contracts SET `+col.contract+` = `+col.contract+` - 1
			WHERE tenant_id = ? AND id = ? AND `+col.contract+` > 0`, tid, contractID); err != nil {
			return false, err
		}
	}
	return freed, nil
}
