package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// CreatePool stores p with nothing in use. EINVALID for a feature listed
// twice; ENOTFOUND for an unknown customer or contract; ECONFLICT on a
// duplicate id.
func (db *DB) CreatePool(ctx context.Context, p *licensor.Pool) error {
	tid, err := store.NewPool(ctx, p, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreatePool", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pools (tenant_id, id, customer_id, contract_id, name, lease_ttl_ns, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tid, p.ID, p.CustomerID, store.Nullable(p.ContractID), p.Name, int64(p.LeaseTTL), micros(p.CreatedAt), micros(p.UpdatedAt))
		if isForeignKey(err) {
			ok, err := exists(ctx, tx, `SELECT 1 FROM customers WHERE tenant_id = ? AND id = ?`, tid, p.CustomerID)
			if err != nil {
				return err
			}
			if !ok {
				return licensor.Errorf(licensor.ENOTFOUND, "customer %s not found", p.CustomerID)
			}
			return licensor.Errorf(licensor.ENOTFOUND, "contract %s not found", p.ContractID)
		}
		if err = translateErr(err, store.PoolConstraints(p)); err != nil {
			return err
		}
		for i := range p.Features {
			f := &p.Features[i]
			f.InUse = 0
			if _, err := tx.ExecContext(ctx, `INSERT INTO pool_features (tenant_id, pool_id, feature, max_units, in_use) VALUES (?, ?, ?, ?, 0)`,
				tid, p.ID, f.Feature, f.MaxUnits); err != nil {
				return translateErr(err, store.Messages{PrimaryKey: fmt.Sprintf("feature %q is listed twice", f.Feature)})
			}
		}
		return nil
	})
}

// GetPool returns a pool of the scoped tenant with its features. ENOTFOUND.
func (db *DB) GetPool(ctx context.Context, id string) (*licensor.Pool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := getPool(ctx, db.rd, tid, id)
	return p, driverErr("GetPool", err)
}

func getPool(ctx context.Context, q querier, tid, id string) (*licensor.Pool, error) {
	p, err := store.ScanPool(q.QueryRowContext(ctx, `SELECT `+store.PoolCols+` FROM pools WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("pool %s not found", id))
	}
	if err := loadPoolFeatures(ctx, q, tid, []*licensor.Pool{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// ListPools lists the scoped tenant's pools by id, optionally of one customer.
func (db *DB) ListPools(ctx context.Context, f licensor.PoolFilter) ([]*licensor.Pool, error) {
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + store.PoolCols + ` FROM pools WHERE tenant_id = ? AND id > ?`
	args := []any{tid, opts.After}
	if f.CustomerID != "" {
		q += ` AND customer_id = ?`
		args = append(args, f.CustomerID)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.rd.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListPools", err)
	}
	out, err := store.All(rows, store.ScanPool)
	rows.Close()
	if err != nil {
		return nil, driverErr("ListPools", err)
	}
	return out, driverErr("ListPools", loadPoolFeatures(ctx, db.rd, tid, out))
}

// ResizePool sets the max units of the listed features (adding new ones)
// and the lease TTL if given. ENOTFOUND.
func (db *DB) ResizePool(ctx context.Context, r licensor.PoolResize) (*licensor.Pool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := licensor.PoolFeaturesOnce(r.Features); err != nil {
		return nil, err
	}
	updated := micros(db.stamp(r.UpdatedAt))
	var p *licensor.Pool
	err = db.write(ctx, "ResizePool", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE pools SET updated_at = ?,
			lease_ttl_ns = CASE WHEN ? > 0 THEN ? ELSE lease_ttl_ns END
			WHERE tenant_id = ? AND id = ?`, updated, int64(r.LeaseTTL), int64(r.LeaseTTL), tid, r.PoolID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", r.PoolID)
		}
		for _, f := range r.Features {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pool_features (tenant_id, pool_id, feature, max_units, in_use)
				VALUES (?, ?, ?, ?, 0)
				ON CONFLICT (tenant_id, pool_id, feature) DO UPDATE SET max_units = excluded.max_units`,
				tid, r.PoolID, f.Feature, f.MaxUnits); err != nil {
				return err
			}
		}
		p, err = getPool(ctx, tx, tid, r.PoolID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// loadPoolFeatures fills the features of pools (all of one tenant).
func loadPoolFeatures(ctx context.Context, q querier, tid string, pools []*licensor.Pool) error {
	for _, p := range pools {
		rows, err := q.QueryContext(ctx, `SELECT feature, max_units, in_use FROM pool_features
			WHERE tenant_id = ? AND pool_id = ? ORDER BY feature`, tid, p.ID)
		if err != nil {
			return err
		}
		p.Features = p.Features[:0]
		for rows.Next() {
			var f licensor.PoolFeature
			if err := rows.Scan(&f.Feature, &f.MaxUnits, &f.InUse); err != nil {
				rows.Close()
				return err
			}
			p.Features = append(p.Features, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
