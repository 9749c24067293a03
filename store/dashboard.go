package store

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

const hourMicros = int64(time.Hour / time.Microsecond)

// Dashboard counts what the console's first page shows about the scoped
// tenant as of now, each count one statement on an index: instances by
// license expiry (instances_license_expiry), check-ins by hour from the
// telemetry history (telemetry_history_at), license files by hour from
// the audit log (audit_log_tenant_at), open alerts (alerts_open), and the
// tenant's contracts and pool features (their primary keys).
func (db *DB) Dashboard(ctx context.Context, now time.Time) (*licensor.Dashboard, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	d := &licensor.Dashboard{Now: now}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("Dashboard", err)
	}
	r := db.eng.ReadUnprepared()
	nowM := Micros(now)
	q, args := ActiveInstancesQuery(tid, now)
	if err := r.QueryRow(ctx, q, args...).Scan(&d.ActiveInstances); err != nil {
		return nil, db.Final("Dashboard", err)
	}
	if err := r.QueryRow(ctx, `SELECT COUNT(*) FROM contracts c WHERE c.tenant_id = ? AND `+liveContract+` AND c.ends_at > 0 AND c.ends_at <= ?`,
		tid, nowM, Micros(now.Add(30*24*time.Hour))).Scan(&d.ContractsEnding30d); err != nil {
		return nil, db.Final("Dashboard", err)
	}
	if err := r.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE tenant_id = ? AND cleared_at = 0`, tid).Scan(&d.OpenAlerts); err != nil {
		return nil, db.Final("Dashboard", err)
	}
	// The last 24 whole hours and the current one: 25 buckets, the
	// first starting 24 hours before the current hour began.
	end := now.Truncate(time.Hour).Add(time.Hour)
	start := end.Add(-25 * time.Hour)
	if d.CheckinsPerHour, err = db.hourCounts(ctx, r, `SELECT at / ?, COUNT(*) FROM telemetry_history
		WHERE tenant_id = ? AND at >= ? AND at < ? GROUP BY 1`, tid, start, end); err != nil {
		return nil, db.Final("Dashboard", err)
	}
	if d.LicenseFilesPerHour, err = db.hourCounts(ctx, r, `SELECT at / ?, COUNT(*) FROM audit_log
		WHERE tenant_id = ? AND at >= ? AND at < ? AND action = 'license_file.issue' GROUP BY 1`, tid, start, end); err != nil {
		return nil, db.Final("Dashboard", err)
	}
	rows, err := r.Query(ctx, `SELECT p.id, p.name, f.feature, f.in_use, f.max_units FROM pools p
		JOIN pool_features f ON f.tenant_id = p.tenant_id AND f.pool_id = p.id
		WHERE p.tenant_id = ? ORDER BY p.id, f.feature`, tid)
	if err != nil {
		return nil, db.Final("Dashboard", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u licensor.PoolFeatureUse
		if err := rows.Scan(&u.PoolID, &u.PoolName, &u.Feature, &u.InUse, &u.MaxUnits); err != nil {
			return nil, db.Final("Dashboard", err)
		}
		d.Pools = append(d.Pools, u)
	}
	return d, db.Final("Dashboard", rows.Err())
}

// ActiveInstancesQuery is the statement that counts tenant tid's instances
// holding a license unexpired at now, and its arguments (exported so that
// an engine's tests can check its plan). The index holds the hour of expiry
// (instance_hour.go): the instances of later hours are counted from it
// alone, those of now's hour by their exact expiry. now's hour is a range
// of one, not an equality: on an equality SQLite estimates the rows it must
// read beside the index as many and walks the tenant's table instead.
func ActiveInstancesQuery(tid string, now time.Time) (string, []any) {
	nowM := Micros(now)
	return `SELECT
		(SELECT COUNT(*) FROM instances WHERE tenant_id = ? AND license_expires_hour > ?)
		+ (SELECT COUNT(*) FROM instances WHERE tenant_id = ? AND license_expires_hour >= ? AND license_expires_hour <= ?
			AND license_expires_at > ?)`, []any{tid, HourOf(nowM), tid, HourOf(nowM), HourOf(nowM), nowM}
}

// hourCounts runs q (selecting hour number and count, taking the hour
// length, tid, start and end) and returns one count
// per hour from start to end, zero where q has no row.
func (db *DB) hourCounts(ctx context.Context, r Conn, q, tid string, start, end time.Time) ([]licensor.HourCount, error) {
	rows, err := r.Query(ctx, q, hourMicros, tid, Micros(start), Micros(end))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byHour := map[int64]int64{}
	for rows.Next() {
		var h, n int64
		if err := rows.Scan(&h, &n); err != nil {
			return nil, err
		}
		byHour[h] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []licensor.HourCount
	for t := start; t.Before(end); t = t.Add(time.Hour) {
		out = append(out, licensor.HourCount{Hour: t, Count: byHour[Micros(t)/hourMicros]})
	}
	return out, nil
}

// PoolUsageSeries returns the most units of each feature of a pool in use
// in each bucket of step from since to until, from the pool's usage events
// (usage_events_feature_at): one statement for the features and the last
// value before since, one for each bucket's peak and closing value; a
// bucket with no event shows the closing value of the one before.
// ENOTFOUND.
func (db *DB) PoolUsageSeries(ctx context.Context, poolID string, since, until time.Time, step time.Duration) ([]licensor.SeriesPoint, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	stepM := int64(step / time.Microsecond)
	sinceM, untilM := Micros(since), Micros(until)
	since, until = FromMicros(sinceM), FromMicros(Micros(until))
	r := db.eng.ReadUnprepared()
	// Each feature of the pool with its in_use after the last event before
	// since (its current in_use if none: nothing moved since).
	rows, err := r.Query(ctx, `SELECT f.feature, COALESCE((SELECT e.in_use FROM usage_events e
			WHERE e.tenant_id = f.tenant_id AND e.pool_id = f.pool_id AND e.feature = f.feature AND e.at < ?
			ORDER BY e.at DESC, e.seq DESC LIMIT 1), 0)
		FROM pool_features f WHERE f.tenant_id = ? AND f.pool_id = ? ORDER BY f.feature`, sinceM, tid, poolID)
	if err != nil {
		return nil, db.Final("PoolUsageSeries", err)
	}
	var features []string
	last := map[string]int64{}
	for rows.Next() {
		var f string
		var v int64
		if err := rows.Scan(&f, &v); err != nil {
			rows.Close()
			return nil, db.Final("PoolUsageSeries", err)
		}
		features = append(features, f)
		last[f] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.Final("PoolUsageSeries", err)
	}
	if len(features) == 0 {
		if _, err := db.GetPool(ctx, poolID); err != nil {
			return nil, err
		}
	}
	// Each bucket's peak, and what it ended with (the value a quiet
	// bucket after it shows).
	rows, err = r.Query(ctx, `SELECT feature, b, MAX(in_use), MAX(closing) FROM (
			SELECT feature, b, in_use, FIRST_VALUE(in_use) OVER (PARTITION BY feature, b ORDER BY at DESC, seq DESC) AS closing
			FROM (SELECT feature, (at - ?) / ? AS b, in_use, at, seq FROM usage_events
				WHERE tenant_id = ? AND pool_id = ? AND at >= ? AND at < ?) e) w
		GROUP BY feature, b`,
		sinceM, stepM, tid, poolID, sinceM, untilM)
	if err != nil {
		return nil, db.Final("PoolUsageSeries", err)
	}
	defer rows.Close()
	type key struct {
		f string
		b int64
	}
	type bucket struct{ peak, closing int64 }
	moved := map[key]bucket{}
	for rows.Next() {
		var k key
		var v bucket
		if err := rows.Scan(&k.f, &k.b, &v.peak, &v.closing); err != nil {
			return nil, db.Final("PoolUsageSeries", err)
		}
		moved[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, db.Final("PoolUsageSeries", err)
	}
	var out []licensor.SeriesPoint
	for _, f := range features {
		cur := last[f]
		b := int64(0)
		for t := since; t.Before(until); t, b = t.Add(step), b+1 {
			v := cur
			if m, ok := moved[key{f, b}]; ok {
				v, cur = m.peak, m.closing
			}
			out = append(out, licensor.SeriesPoint{At: t, Key: f, Value: v})
		}
	}
	return out, nil
}

// TelemetryVersionSeries counts the distinct instances reporting each
// product version in each bucket of step from since to until, from the
// telemetry history (telemetry_history_at); one statement.
func (db *DB) TelemetryVersionSeries(ctx context.Context, since, until time.Time, step time.Duration) ([]licensor.SeriesPoint, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	stepM, sinceM := int64(step/time.Microsecond), Micros(since)
	since, until = FromMicros(sinceM), FromMicros(Micros(until))
	version := `COALESCE(` + db.d.JSONText("telemetry_json", "product_version") + `, '')`
	if err := db.eng.Sync(ctx); err != nil {
		return nil, db.Final("TelemetryVersionSeries", err)
	}
	rows, err := db.eng.ReadUnprepared().Query(ctx, `SELECT (at - ?) / ?, `+version+`, COUNT(DISTINCT contract_id || ' ' || instance_id)
		FROM telemetry_history WHERE tenant_id = ? AND at >= ? AND at < ?
		GROUP BY 1, 2 ORDER BY 1, 2`,
		sinceM, stepM, tid, sinceM, Micros(until))
	if err != nil {
		return nil, db.Final("TelemetryVersionSeries", err)
	}
	defer rows.Close()
	var out []licensor.SeriesPoint
	for rows.Next() {
		var b int64
		var p licensor.SeriesPoint
		if err := rows.Scan(&b, &p.Key, &p.Value); err != nil {
			return nil, db.Final("TelemetryVersionSeries", err)
		}
		p.At = since.Add(time.Duration(b) * step)
		out = append(out, p)
	}
	return out, db.Final("TelemetryVersionSeries", rows.Err())
}
