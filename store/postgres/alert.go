package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// liveContract is the condition of a contract whose instances the scanner
// watches: not ended explicitly and not past its end at $2.
const liveContract = `c.status <> 'ended' AND (c.ends_at = 0 OR c.ends_at > $2)`

var instanceColsI = store.Qualify("i.", store.InstanceCols)

// RaiseAlert opens an episode unless one is open for the same key (the
// partial unique index decides, so two servers' scanners raising the same
// alert at once open one episode), and queues its deliveries in the same
// transaction.
func (db *DB) RaiseAlert(ctx context.Context, a *licensor.Alert, body []byte, giveUpAt time.Time) (bool, error) {
	tid, err := store.NewAlert(ctx, a, db.now)
	if err != nil {
		return false, err
	}
	raised := false
	err = db.tx(ctx, "RaiseAlert", func(tx pgx.Tx) error {
		raised = false
		tag, err := tx.Exec(ctx, `INSERT INTO alerts (`+store.AlertCols+`) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
			ON CONFLICT (tenant_id, type, object_id, level) WHERE cleared_at = 0 DO NOTHING`,
			tid, a.ID, string(a.Type), a.ObjectID, a.Level, micros(a.RaisedAt), []byte(a.Data))
		if err != nil {
			return translateErr(err, store.AlertConstraints(a))
		}
		if tag.RowsAffected() == 0 {
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
func queueDeliveries(ctx context.Context, tx pgx.Tx, tid, eventID string, typ licensor.AlertType, body []byte, now, giveUpAt time.Time) error {
	hooks, err := listWebhooks(ctx, tx, tid)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, w := range hooks {
		if !w.Wants(typ) {
			continue
		}
		b.Queue(`INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type,
			status, body, next_attempt_at, give_up_at, created_at, held) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10)`,
			tid, licensor.NewID(licensor.PrefixDelivery), w.ID, eventID, string(typ), body, micros(now), micros(giveUpAt), micros(now), w.Disabled())
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
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
	err = db.tx(ctx, "ClearAlert", func(tx pgx.Tx) error {
		cleared = false
		var typ string
		err := tx.QueryRow(ctx, `UPDATE alerts SET cleared_at = $1 WHERE tenant_id = $2 AND id = $3 AND cleared_at = 0 RETURNING type`,
			micros(at), tid, id).Scan(&typ)
		switch {
		case err == nil:
			cleared = true
			return queueDeliveries(ctx, tx, tid, eventID, licensor.AlertType(typ).Cleared(), body, at, giveUpAt)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		ok, err := exists(ctx, tx, `SELECT 1 FROM alerts WHERE tenant_id = $1 AND id = $2`, tid, id)
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
	q := `SELECT ` + store.AlertCols + ` FROM alerts WHERE tenant_id = $1`
	args := []any{tid}
	if !f.IncludeCleared {
		q += ` AND cleared_at = 0`
	}
	if f.Type != "" {
		args = append(args, string(f.Type))
		q += fmt.Sprintf(` AND type = $%d`, len(args))
	}
	if opts.After != "" {
		args = append(args, opts.After)
		q += fmt.Sprintf(` AND (raised_at, id) < (SELECT raised_at, id FROM alerts WHERE tenant_id = $1 AND id = $%d)`, len(args))
	}
	args = append(args, opts.Limit)
	q += fmt.Sprintf(` ORDER BY raised_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := db.pool.Query(ctx, q, args...)
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
	return db.scanInstances(ctx, "ExpiringInstances", now, `i.license_expires_at > 0 AND i.license_expires_at < $3`, []any{micros(before)}, limit)
}

// SilentInstances returns instances of live contracts not seen for more
// than intervals refresh intervals.
func (db *DB) SilentInstances(ctx context.Context, now time.Time, intervals int, limit int) ([]*licensor.Instance, error) {
	if intervals < 1 {
		return nil, licensor.Errorf(licensor.EINVALID, "intervals must be at least 1")
	}
	// last_seen_at is in microseconds, refresh_interval_ns in nanoseconds.
	return db.scanInstances(ctx, "SilentInstances", now, `i.last_seen_at < $3::bigint - (c.refresh_interval_ns / 1000) * $4::bigint`,
		[]any{micros(now), int64(intervals)}, limit)
}

// scanInstances runs a scanner query: $1 the tenant, $2 now, $3... args,
// then the limit.
func (db *DB) scanInstances(ctx context.Context, op string, now time.Time, cond string, args []any, limit int) ([]*licensor.Instance, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = licensor.MaxListLimit
	}
	all := append([]any{tid, micros(now)}, args...)
	all = append(all, limit)
	q := `SELECT ` + instanceColsI + ` FROM instances i
		JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id
		WHERE i.tenant_id = $1 AND ` + liveContract + ` AND ` + cond + `
		ORDER BY i.contract_id, i.instance_id LIMIT $` + fmt.Sprint(len(all))
	rows, err := db.pool.Query(ctx, q, all...)
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
	rows, err := db.pool.Query(ctx, `SELECT `+store.ContractCols+`, f.feature, f.kind, f.count
		FROM (SELECT * FROM contracts WHERE tenant_id = $1 AND status <> 'ended' AND ends_at > 0 AND ends_at < $2
			ORDER BY id LIMIT $3) c
		LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		ORDER BY c.id, f.feature`, tid, micros(before), limit)
	if err != nil {
		return nil, driverErr("EndingContracts", err)
	}
	cs, err := scanContracts(rows)
	return cs, driverErr("EndingContracts", err)
}

// LicenseExpiryHistogram counts instances of live contracts by license
// expiry, in one pass: a row's bucket is the number of bounds at or before
// its expiry.
func (db *DB) LicenseExpiryHistogram(ctx context.Context, now time.Time, bounds []time.Time) ([]int64, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	us := make([]int64, len(bounds))
	for i, b := range bounds {
		us[i] = micros(b)
	}
	rows, err := db.pool.Query(ctx, `SELECT (SELECT count(*) FROM unnest($3::bigint[]) AS b WHERE i.license_expires_at >= b) AS bucket, count(*)
		FROM instances i JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id
		WHERE i.tenant_id = $1 AND i.license_expires_at > 0 AND `+liveContract+` GROUP BY bucket`, tid, micros(now), us)
	if err != nil {
		return nil, driverErr("LicenseExpiryHistogram", err)
	}
	defer rows.Close()
	out := make([]int64, len(bounds)+1)
	for rows.Next() {
		var b, n int64
		if err := rows.Scan(&b, &n); err != nil {
			return nil, driverErr("LicenseExpiryHistogram", err)
		}
		if b >= 0 && int(b) < len(out) {
			out[b] += n
		}
	}
	return out, driverErr("LicenseExpiryHistogram", rows.Err())
}

// AcquireJobLock takes, renews or refuses a named lock in one statement:
// of several servers' scanners, one holds it at a time, and a crashed
// holder's lock lapses at its expiry.
func (db *DB) AcquireJobLock(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO job_locks (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_locks.holder = excluded.holder OR job_locks.expires_at <= $4`,
		name, holder, micros(until), micros(now))
	if err != nil {
		return false, driverErr("AcquireJobLock", err)
	}
	return tag.RowsAffected() > 0, nil
}

// ReleaseJobLock frees the lock if holder has it.
func (db *DB) ReleaseJobLock(ctx context.Context, name, holder string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM job_locks WHERE name = $1 AND holder = $2`, name, holder)
	return driverErr("ReleaseJobLock", err)
}
