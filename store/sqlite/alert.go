package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// liveContract is the condition of a contract whose instances the scanner
// watches: not ended explicitly and not past its end at ?.
const liveContract = `c.status != 'ended' AND (c.ends_at = 0 OR c.ends_at > ?)`

var instanceColsI = store.Qualify("i.", store.InstanceCols)

// RaiseAlert opens an episode unless one is open for the same key, and
// queues its deliveries in the same transaction.
func (db *DB) RaiseAlert(ctx context.Context, a *licensor.Alert, body []byte, giveUpAt time.Time) (bool, error) {
	tid, err := store.NewAlert(ctx, a, db.now)
	if err != nil {
		return false, err
	}
	raised := false
	err = db.write(ctx, "RaiseAlert", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (`+store.AlertCols+`) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
			ON CONFLICT (tenant_id, type, object_id, level) WHERE cleared_at = 0 DO NOTHING`,
			tid, a.ID, string(a.Type), a.ObjectID, a.Level, micros(a.RaisedAt), []byte(a.Data))
		if err != nil {
			return translateErr(err, store.AlertConstraints(a))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		raised = true
		return queueDeliveries(ctx, tx, tid, a.ID, a.Type, body, a.RaisedAt, giveUpAt)
	})
	return raised, err
}

// queueDeliveries queues event eventID of type typ, due at now, for every
// webhook of the tenant whose filter takes typ, in the caller's
// transaction: the event and its deliveries commit together or not at all.
// A disabled webhook's deliveries are queued held.
func queueDeliveries(ctx context.Context, tx *sql.Tx, tid, eventID string, typ licensor.AlertType, body []byte, now, giveUpAt time.Time) error {
	hooks, err := listWebhooks(ctx, tx, tid)
	if err != nil {
		return err
	}
	for _, w := range hooks {
		if !w.Wants(typ) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type,
			status, body, next_attempt_at, give_up_at, created_at, held) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
			tid, licensor.NewID(licensor.PrefixDelivery), w.ID, eventID, string(typ), body, micros(now), micros(giveUpAt), micros(now), w.Disabled()); err != nil {
			return err
		}
	}
	return nil
}

// ClearAlert closes an open episode and queues its cleared event in the
// same transaction.
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
	err = db.write(ctx, "ClearAlert", func(tx *sql.Tx) error {
		var typ string
		err := tx.QueryRowContext(ctx, `UPDATE alerts SET cleared_at = ? WHERE tenant_id = ? AND id = ? AND cleared_at = 0 RETURNING type`,
			micros(at), tid, id).Scan(&typ)
		switch {
		case err == nil:
			cleared = true
			return queueDeliveries(ctx, tx, tid, eventID, licensor.AlertType(typ).Cleared(), body, at, giveUpAt)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		ok, err := exists(ctx, tx, `SELECT 1 FROM alerts WHERE tenant_id = ? AND id = ?`, tid, id)
		if err == nil && !ok {
			err = licensor.Errorf(licensor.ENOTFOUND, "alert %s not found", id)
		}
		return err
	})
	return cleared, err
}

// ListAlerts lists alerts newest first.
func (db *DB) ListAlerts(ctx context.Context, f licensor.AlertFilter) ([]*licensor.Alert, error) {
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + store.AlertCols + ` FROM alerts WHERE tenant_id = ?`
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
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListAlerts", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanAlert)
	return out, driverErr("ListAlerts", err)
}

// ExpiringInstances returns instances of live contracts whose license
// expires before t.
func (db *DB) ExpiringInstances(ctx context.Context, now, before time.Time, limit int) ([]*licensor.Instance, error) {
	return db.scanInstances(ctx, "ExpiringInstances", now, `i.license_expires_at > 0 AND i.license_expires_at < ?`, []any{micros(before)}, limit)
}

// SilentInstances returns instances of live contracts not seen for more
// than intervals refresh intervals.
func (db *DB) SilentInstances(ctx context.Context, now time.Time, intervals int, limit int) ([]*licensor.Instance, error) {
	if intervals < 1 {
		return nil, licensor.Errorf(licensor.EINVALID, "intervals must be at least 1")
	}
	// last_seen_at is in microseconds, refresh_interval_ns in nanoseconds.
	return db.scanInstances(ctx, "SilentInstances", now, `i.last_seen_at < ? - (c.refresh_interval_ns / 1000) * ?`,
		[]any{micros(now), intervals}, limit)
}

func (db *DB) scanInstances(ctx context.Context, op string, now time.Time, cond string, args []any, limit int) ([]*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.syncReads(); err != nil {
		return nil, driverErr(op, err)
	}
	if limit <= 0 {
		limit = licensor.MaxListLimit
	}
	q := `SELECT ` + instanceColsI + ` FROM instances i
		JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id
		WHERE i.tenant_id = ? AND ` + liveContract + ` AND ` + cond + `
		ORDER BY i.contract_id, i.instance_id LIMIT ?`
	all := append([]any{tid, micros(now)}, args...)
	all = append(all, limit)
	rows, err := db.r.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, driverErr(op, err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanInstance)
	return out, driverErr(op, err)
}

// EndingContracts returns contracts not ended with an end before t.
func (db *DB) EndingContracts(ctx context.Context, before time.Time, limit int) ([]*licensor.Contract, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = licensor.MaxListLimit
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+store.ContractCols+`, f.feature, f.kind, f.count
		FROM (SELECT * FROM contracts WHERE tenant_id = ? AND status != 'ended' AND ends_at > 0 AND ends_at < ?
			ORDER BY id LIMIT ?) c
		LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		ORDER BY c.id, f.feature`, tid, micros(before), limit)
	if err != nil {
		return nil, driverErr("EndingContracts", err)
	}
	cs, err := scanContracts(rows)
	return cs, driverErr("EndingContracts", err)
}

// LicenseExpiryHistogram counts instances of live contracts by license expiry.
func (db *DB) LicenseExpiryHistogram(ctx context.Context, now time.Time, bounds []time.Time) ([]int64, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.syncReads(); err != nil {
		return nil, driverErr("LicenseExpiryHistogram", err)
	}
	// One pass: the bucket of a row is the number of bounds at or before
	// its expiry.
	var bucket strings.Builder
	args := []any{}
	bucket.WriteString("0")
	for _, b := range bounds {
		bucket.WriteString(" + (i.license_expires_at >= ?)")
		args = append(args, micros(b))
	}
	args = append(args, tid, micros(now))
	rows, err := db.r.QueryContext(ctx, `SELECT `+bucket.String()+` AS bucket, COUNT(*) FROM instances i
		JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id
		WHERE i.tenant_id = ? AND i.license_expires_at > 0 AND `+liveContract+` GROUP BY bucket`, args...)
	if err != nil {
		return nil, driverErr("LicenseExpiryHistogram", err)
	}
	defer rows.Close()
	out := make([]int64, len(bounds)+1)
	for rows.Next() {
		var b int
		var n int64
		if err := rows.Scan(&b, &n); err != nil {
			return nil, driverErr("LicenseExpiryHistogram", err)
		}
		if b >= 0 && b < len(out) {
			out[b] += n
		}
	}
	return out, driverErr("LicenseExpiryHistogram", rows.Err())
}

// AcquireJobLock takes, renews or refuses a named lock in one statement.
func (db *DB) AcquireJobLock(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	got := false
	err := db.write(ctx, "AcquireJobLock", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO job_locks (name, holder, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE job_locks.holder = excluded.holder OR job_locks.expires_at <= ?`,
			name, holder, micros(until), micros(now))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		got = n > 0
		return nil
	})
	return got, err
}

// ReleaseJobLock frees the lock if holder has it.
func (db *DB) ReleaseJobLock(ctx context.Context, name, holder string) error {
	return db.write(ctx, "ReleaseJobLock", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM job_locks WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
}
