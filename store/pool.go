package store

import (
	"context"
	"fmt"

	"github.com/licensor/licensor"
)

// CreatePool stores p with nothing in use. EINVALID for a feature listed
// twice; ENOTFOUND for an unknown customer or contract; ECONFLICT on a
// duplicate id.
func (db *DB) CreatePool(ctx context.Context, p *licensor.Pool) error {
	tid, err := NewPool(ctx, p, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreatePool", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO pools (tenant_id, id, customer_id, contract_id, name, lease_ttl_ns, express, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tid, p.ID, p.CustomerID, Nullable(p.ContractID), p.Name, int64(p.LeaseTTL), p.Express, Micros(p.CreatedAt), Micros(p.UpdatedAt))
		if db.d.Constraint(err) == ForeignKey {
			return db.poolParentMissing(ctx, tx, err, tid, p)
		}
		if err = db.translate(err, PoolConstraints(p)); err != nil {
			return err
		}
		for i := range p.Features {
			f := &p.Features[i]
			f.InUse = 0
			if _, err := tx.Exec(ctx, `INSERT INTO pool_features (tenant_id, pool_id, feature, max_units, overdraft, in_use) VALUES (?, ?, ?, ?, ?, 0)`,
				tid, p.ID, f.Feature, f.MaxUnits, f.Overdraft); err != nil {
				return db.translate(err, Messages{PrimaryKey: fmt.Sprintf("feature %q is listed twice", f.Feature)})
			}
		}
		return nil
	})
}

// poolParentMissing says which of a new pool's customer and contract is
// missing: by the constraint's name where the engine names it
// (PostgreSQL), else by looking (SQLite, whose transaction goes on after a
// failed statement).
func (db *DB) poolParentMissing(ctx context.Context, tx Conn, err error, tid string, p *licensor.Pool) error {
	customer := &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("customer %s not found", p.CustomerID), Err: err}
	contract := &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("contract %s not found", p.ContractID), Err: err}
	switch {
	case db.d.Violates(err, "pools_customer_fk"):
		return customer
	case db.d.Violates(err, "pools_contract_fk"):
		return contract
	}
	ok, err := Exists(ctx, tx, `SELECT 1 FROM customers WHERE tenant_id = ? AND id = ?`, tid, p.CustomerID)
	switch {
	case err != nil:
		return err
	case !ok:
		return customer
	}
	return contract
}

// GetPool returns a pool of the scoped tenant with its features. ENOTFOUND.
func (db *DB) GetPool(ctx context.Context, id string) (*licensor.Pool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := getPool(ctx, db.read(), tid, id)
	return p, db.Final("GetPool", err)
}

func getPool(ctx context.Context, c Conn, tid, id string) (*licensor.Pool, error) {
	p, err := ScanPool(c.QueryRow(ctx, `SELECT `+PoolCols+` FROM pools WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, NotFound(err, fmt.Sprintf("pool %s not found", id))
	}
	if err := loadPoolFeatures(ctx, c, tid, "", []*licensor.Pool{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// ListPools lists the scoped tenant's pools by id, optionally of one customer.
func (db *DB) ListPools(ctx context.Context, f licensor.PoolFilter) ([]*licensor.Pool, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + PoolCols + ` FROM pools WHERE tenant_id = ? AND id > ?`
	args := []any{tid, opts.After}
	if f.CustomerID != "" {
		q += ` AND customer_id = ?`
		args = append(args, f.CustomerID)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListPools", err)
	}
	out, err := All(rows, ScanPool)
	rows.Close()
	if err != nil {
		return nil, db.Final("ListPools", err)
	}
	return out, db.Final("ListPools", loadPoolFeatures(ctx, db.read(), tid, f.CustomerID, out))
}

// ResizePool sets the max units of the listed features (adding new ones)
// and the lease TTL if given, with the pool locked. ENOTFOUND.
func (db *DB) ResizePool(ctx context.Context, r licensor.PoolResize) (*licensor.Pool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := licensor.PoolFeaturesOnce(r.Features); err != nil {
		return nil, err
	}
	updated := Micros(db.stamp(r.UpdatedAt))
	var p *licensor.Pool
	err = db.write(ctx, "ResizePool", func(tx Conn) error {
		if err := db.lockPool(ctx, tx, tid, r.PoolID); err != nil {
			return err
		}
		// express: -1 keeps it, 0 or 1 sets it.
		express := -1
		if r.Express != nil {
			express = 0
			if *r.Express {
				express = 1
			}
		}
		n, err := tx.Exec(ctx, `UPDATE pools SET updated_at = ?1,
			lease_ttl_ns = CASE WHEN CAST(?2 AS BIGINT) > 0 THEN CAST(?2 AS BIGINT) ELSE lease_ttl_ns END,
			express = CASE CAST(?5 AS INTEGER) WHEN -1 THEN express ELSE CAST(?5 AS INTEGER) = 1 END
			WHERE tenant_id = ?3 AND id = ?4`, updated, int64(r.LeaseTTL), tid, r.PoolID, express)
		if err = affected(n, err, fmt.Sprintf("pool %s not found", r.PoolID)); err != nil {
			return err
		}
		for _, f := range r.Features {
			// A kept overdraft (-1) is stored as 0 for a new feature.
			if _, err := tx.Exec(ctx, `INSERT INTO pool_features (tenant_id, pool_id, feature, max_units, overdraft, in_use)
				VALUES (?1, ?2, ?3, ?4, CASE WHEN CAST(?5 AS BIGINT) < 0 THEN 0 ELSE CAST(?5 AS BIGINT) END, 0)
				ON CONFLICT (tenant_id, pool_id, feature) DO UPDATE SET max_units = excluded.max_units,
				overdraft = CASE WHEN CAST(?5 AS BIGINT) < 0 THEN pool_features.overdraft ELSE excluded.overdraft END`,
				tid, r.PoolID, f.Feature, f.MaxUnits, f.Overdraft); err != nil {
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

// loadPoolFeatures fills the features of pools, a page of one tenant's
// pools in id order (of one customer if customerID is set), in one query:
// the features of the pools in the page's id range.
func loadPoolFeatures(ctx context.Context, c Conn, tid, customerID string, pools []*licensor.Pool) error {
	if len(pools) == 0 {
		return nil
	}
	byID := make(map[string]*licensor.Pool, len(pools))
	for _, p := range pools {
		p.Features = p.Features[:0]
		byID[p.ID] = p
	}
	q := `SELECT pool_id, feature, max_units, in_use, overdraft, reserved FROM pool_features
		WHERE tenant_id = ?1 AND pool_id >= ?2 AND pool_id <= ?3`
	args := []any{tid, pools[0].ID, pools[len(pools)-1].ID}
	if customerID != "" {
		q += ` AND pool_id IN (SELECT id FROM pools WHERE tenant_id = ?1 AND customer_id = ?4)`
		args = append(args, customerID)
	}
	rows, err := c.Query(ctx, q+` ORDER BY pool_id, feature`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var f licensor.PoolFeature
		if err := rows.Scan(&id, &f.Feature, &f.MaxUnits, &f.InUse, &f.Overdraft, &f.Reserved); err != nil {
			return err
		}
		if p := byID[id]; p != nil {
			p.Features = append(p.Features, f)
		}
	}
	return rows.Err()
}
