package store

import (
	"context"
	"strings"
	"time"

	"github.com/licensor/licensor"
)

// liveContract is the condition of a contract whose instances the Scanner
// watches: not ended explicitly and not past its end at ?.
const liveContract = `c.status <> 'ended' AND (c.ends_at = 0 OR c.ends_at > ?)`

var instanceColsI = Qualify("i.", InstanceCols)

// RaiseAlert opens an episode unless one is open for the same key (the
// partial unique index decides, so two servers' scanners raising the same
// alert at once open one episode), and queues its deliveries in the same
// transaction.
func (db *DB) RaiseAlert(ctx context.Context, a *licensor.Alert, body []byte, giveUpAt time.Time) (bool, error) {
	tid, err := NewAlert(ctx, a, db.now)
	if err != nil {
		return false, err
	}
	raised := false
	err = db.write(ctx, "RaiseAlert", func(tx Conn) error {
		raised = false
		n, err := tx.Exec(ctx, `INSERT INTO alerts (`+AlertCols+`) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
			ON CONFLICT (tenant_id, type, object_id, level) WHERE cleared_at = 0 DO NOTHING`,
			tid, a.ID, string(a.Type), a.ObjectID, a.Level, Micros(a.RaisedAt), []byte(a.Data))
		if err != nil {
			return db.translate(err, AlertConstraints(a))
		}
		if n == 0 {
			return nil
		}
		raised = true
		return db.queueDeliveries(ctx, tx, tid, a.ID, a.Type, body, a.RaisedAt, giveUpAt)
	})
	return raised, err
}

const insertDeliverySQL = `INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type,
	status, body, next_attempt_at, give_up_at, created_at, held) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`

// queueDeliveries queues event eventID of type typ, due at now, for every
// webhook of the tenant whose filter takes typ, in the caller's
// transaction: the event and its deliveries commit together or not at all.
// A disabled webhook's deliveries are queued held.
func (db *DB) queueDeliveries(ctx context.Context, tx Conn, tid, eventID string, typ licensor.AlertType, body []byte, now, giveUpAt time.Time) error {
	hooks, err := listWebhooks(ctx, tx, tid)
	if err != nil {
		return err
	}
	var stmts []Stmt
	for _, w := range hooks {
		if w.Wants(typ) {
			stmts = append(stmts, Stmt{insertDeliverySQL, []any{tid, licensor.NewID(licensor.PrefixDelivery), w.ID, eventID, string(typ), body,
				Micros(now), Micros(giveUpAt), Micros(now), w.Disabled()}})
		}
	}
	_, _, err = ExecStmts(ctx, tx, stmts)
	return err
}

// ClearAlert closes an open episode and queues its cleared event in the
// same transaction. Two servers clearing the same episode at once: the
// conditional UPDATE lets one through, so the event is queued once.
// ENOTFOUND.
func (db *DB) ClearAlert(ctx context.Context, id string, at time.Time, eventID string, body []byte, giveUpAt time.Time) (bool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return false, err
	}
	if eventID == "" {
		eventID = licensor.NewID(licensor.PrefixEvent)
	}
	at = db.stamp(at)
	cleared := false
	err = db.write(ctx, "ClearAlert", func(tx Conn) error {
		cleared = false
		var typ string
		err := tx.QueryRow(ctx, `UPDATE alerts SET cleared_at = ? WHERE tenant_id = ? AND id = ? AND cleared_at = 0 RETURNING type`,
			Micros(at), tid, id).Scan(&typ)
		switch {
		case err == nil:
			cleared = true
			return db.queueDeliveries(ctx, tx, tid, eventID, licensor.AlertType(typ).Cleared(), body, at, giveUpAt)
		case !NoRows(err):
			return err
		}
		ok, err := Exists(ctx, tx, `SELECT 1 FROM alerts WHERE tenant_id = ? AND id = ?`, tid, id)
		if err == nil && !ok {
			err = licensor.Errorf(licensor.ENOTFOUND, "alert %s not found", id)
		}
		return err
	})
	return cleared, err
}

// ListAlerts lists alerts newest first.
func (db *DB) ListAlerts(ctx context.Context, f licensor.AlertFilter) ([]*licensor.Alert, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + AlertCols + ` FROM alerts WHERE tenant_id = ?`
	args := []any{tid}
	if !f.IncludeCleared {
		q += ` AND cleared_at = 0`
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, string(f.Type))
	}
	if opts.After != "" {
		q += ` AND (raised_at, id) < (SELECT raised_at, id FROM alerts WHERE tenant_id = ? AND id = ?)`
		args = append(args, tid, opts.After)
	}
	q += ` ORDER BY raised_at DESC, id DESC LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.eng.ReadUnprepared().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListAlerts", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanAlert)
	return out, db.Final("ListAlerts", err)
}

// ExpiringInstances returns instances of live contracts whose license
// expires before t.
func (db *DB) ExpiringInstances(ctx context.Context, now, before time.Time, limit int) ([]*licensor.Instance, error) {
	// The hour bounds the range of instances_license_expiry; the exact
	// time decides (instance_hour.go).
	return db.scanInstances(ctx, "ExpiringInstances", now, `i.license_expires_hour >= 0 AND i.license_expires_hour <= ?
		AND i.license_expires_at > 0 AND i.license_expires_at < ?`, []any{HourOf(Micros(before)), Micros(before)}, limit)
}

// SilentInstances returns instances of live contracts not seen for more
// than intervals refresh intervals.
func (db *DB) SilentInstances(ctx context.Context, now time.Time, intervals int, limit int) ([]*licensor.Instance, error) {
	if intervals < 1 {
		return nil, licensor.Errorf(licensor.EINVALID, "intervals must be at least 1")
	}
	// last_seen_at is in microseconds, refresh_interval_ns in nanoseconds.
	// An instance holding an offline license never calls: its silence is
	// the point, not news. The hour of the bound bounds a range of
	// instances_contract_seen in each contract; the exact time decides
	// (instance_hour.go).
	return db.scanInstances(ctx, "SilentInstances", now, `i.last_seen_hour <= (CAST(? AS BIGINT) - (c.refresh_interval_ns / 1000) * CAST(? AS BIGINT)) / 3600000000
		AND i.last_seen_at < CAST(? AS BIGINT) - (c.refresh_interval_ns / 1000) * CAST(? AS BIGINT)
		AND NOT EXISTS (SELECT 1 FROM offline_activations o WHERE o.tenant_id = i.tenant_id
			AND o.contract_id = i.contract_id AND o.instance_id = i.instance_id AND o.released_at = 0)`,
		[]any{Micros(now), intervals, Micros(now), intervals}, limit)
}

// ClonedInstances returns instances of contracts live at now whose clone
// flag was set at or after since.
func (db *DB) ClonedInstances(ctx context.Context, now, since time.Time, limit int) ([]*licensor.Instance, error) {
	return db.scanInstances(ctx, "ClonedInstances", now, `i.clone_suspected_at > 0 AND i.clone_suspected_at >= CAST(? AS BIGINT)`,
		[]any{Micros(since)}, limit)
}

func (db *DB) scanInstances(ctx context.Context, op string, now time.Time, cond string, args []any, limit int) ([]*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final(op, err)
	}
	if limit <= 0 {
		limit = licensor.MaxListLimit
	}
	q := `SELECT ` + instanceColsI + ` FROM instances i
		JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id
		WHERE i.tenant_id = ? AND ` + liveContract + ` AND ` + cond + `
		ORDER BY i.contract_id, i.instance_id LIMIT ?`
	all := append([]any{tid, Micros(now)}, args...)
	all = append(all, limit)
	rows, err := db.eng.ReadUnprepared().Query(ctx, q, all...)
	if err != nil {
		return nil, db.Final(op, err)
	}
	defer rows.Close()
	out, err := All(rows, ScanInstance)
	return out, db.Final(op, err)
}

// EndingContracts returns contracts live at now with an end before t.
func (db *DB) EndingContracts(ctx context.Context, now, before time.Time, limit int) ([]*licensor.Contract, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = licensor.MaxListLimit
	}
	rows, err := db.eng.ReadUnprepared().Query(ctx, `SELECT `+ContractCols+`, f.feature, f.kind, f.count
		FROM (SELECT * FROM contracts WHERE tenant_id = ? AND status <> 'ended' AND ends_at > ? AND ends_at < ?
			ORDER BY id LIMIT ?) c
		LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		ORDER BY c.id, f.feature`, tid, Micros(now), Micros(before), limit)
	if err != nil {
		return nil, db.Final("EndingContracts", err)
	}
	cs, err := scanContracts(rows)
	return cs, db.Final("EndingContracts", err)
}

// LicenseExpiryHistogram counts instances of live contracts by license expiry.
func (db *DB) LicenseExpiryHistogram(ctx context.Context, now time.Time, bounds []time.Time) ([]int64, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("LicenseExpiryHistogram", err)
	}
	// One pass: the bucket of a row is the number of bounds at or before
	// its expiry.
	var bucket strings.Builder
	args := []any{}
	bucket.WriteString("0")
	for _, b := range bounds {
		bucket.WriteString(" + CASE WHEN i.license_expires_at >= ? THEN 1 ELSE 0 END")
		args = append(args, Micros(b))
	}
	args = append(args, tid, Micros(now))
	rows, err := db.eng.ReadUnprepared().Query(ctx, `SELECT `+bucket.String()+` AS bucket, COUNT(*) FROM instances i
		JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id
		WHERE i.tenant_id = ? AND i.license_expires_hour >= 0 AND i.license_expires_at > 0 AND `+liveContract+` GROUP BY bucket`, args...)
	if err != nil {
		return nil, db.Final("LicenseExpiryHistogram", err)
	}
	defer rows.Close()
	out := make([]int64, len(bounds)+1)
	for rows.Next() {
		var b, n int64
		if err := rows.Scan(&b, &n); err != nil {
			return nil, db.Final("LicenseExpiryHistogram", err)
		}
		if b >= 0 && int(b) < len(out) {
			out[b] += n
		}
	}
	return out, db.Final("LicenseExpiryHistogram", rows.Err())
}

// AcquireJobLock takes, renews or refuses a named lock in one statement:
// of several servers' scanners, one holds it at a time, and a crashed
// holder's lock lapses at its expiry.
func (db *DB) AcquireJobLock(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	got := false
	err := db.writeOne(ctx, "AcquireJobLock", func(tx Conn) error {
		n, err := tx.Exec(ctx, `INSERT INTO job_locks (name, holder, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE job_locks.holder = excluded.holder OR job_locks.expires_at <= ?`,
			name, holder, Micros(until), Micros(now))
		if err != nil {
			return err
		}
		got = n > 0
		return nil
	})
	return got, err
}

// ReleaseJobLock frees the lock if holder has it.
func (db *DB) ReleaseJobLock(ctx context.Context, name, holder string) error {
	return db.writeOne(ctx, "ReleaseJobLock", func(tx Conn) error {
		_, err := tx.Exec(ctx, `DELETE FROM job_locks WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
}

// ScanGauges counts seats on live contracts and pending deliveries.
func (db *DB) ScanGauges(ctx context.Context, now time.Time) (licensor.ScanGauges, error) {
	var g licensor.ScanGauges
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return g, err
	}
	err = db.read().QueryRow(ctx, `SELECT COALESCE(SUM(c.seats_used), 0),
		COALESCE(SUM(CASE WHEN c.max_seats > 0 THEN c.seats_used ELSE 0 END), 0),
		COALESCE(SUM(c.max_seats), 0)
		FROM contracts c WHERE c.tenant_id = ? AND `+liveContract, tid, Micros(now)).Scan(&g.SeatsUsed, &g.SeatsUsedCapped, &g.SeatsMax)
	if err != nil {
		return g, db.Final("ScanGauges", err)
	}
	err = db.read().QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE tenant_id = ? AND status = 'pending'`, tid).Scan(&g.DeliveriesPending)
	return g, db.Final("ScanGauges", err)
}
