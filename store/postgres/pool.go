package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// lockPool takes the pool's transaction-scoped advisory lock. Every change
// to a pool's units holds it, on whichever server it runs, and takes lease
// row locks only under it: changes to one pool queue here instead of
// deadlocking on rows, and its usage events get their numbers in commit
// order. (Two keys, tenant and pool, in the two-int4 key space, which never
// meets the migration lock's bigint one.)
func lockPool(ctx context.Context, tx pgx.Tx, tid, poolID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, tid, poolID)
	return err
}

// CreatePool stores p with nothing in use. EINVALID for a feature listed
// twice; ENOTFOUND for an unknown customer or contract; ECONFLICT on a
// duplicate id.
func (db *DB) CreatePool(ctx context.Context, p *licensor.Pool) error {
	tid, err := store.NewPool(ctx, p, db.now)
	if err != nil {
		return err
	}
	return db.tx(ctx, "CreatePool", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO pools (tenant_id, id, customer_id, contract_id, name, lease_ttl_ns, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			tid, p.ID, p.CustomerID, store.Nullable(p.ContractID), p.Name, int64(p.LeaseTTL), micros(p.CreatedAt), micros(p.UpdatedAt))
		switch {
		case violates(err, "pools_customer_fk"):
			return &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("customer %s not found", p.CustomerID), Err: err}
		case violates(err, "pools_contract_fk"):
			return &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("contract %s not found", p.ContractID), Err: err}
		}
		if err = translateErr(err, store.PoolConstraints(p)); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i := range p.Features {
			f := &p.Features[i]
			f.InUse = 0
			b.Queue(`INSERT INTO pool_features (tenant_id, pool_id, feature, max_units, in_use) VALUES ($1, $2, $3, $4, 0)`,
				tid, p.ID, f.Feature, f.MaxUnits)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// GetPool returns a pool of the scoped tenant with its features. ENOTFOUND.
func (db *DB) GetPool(ctx context.Context, id string) (*licensor.Pool, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := getPool(ctx, db.pool, tid, id)
	return p, driverErr("GetPool", err)
}

func getPool(ctx context.Context, q querier, tid, id string) (*licensor.Pool, error) {
	p, err := store.ScanPool(q.QueryRow(ctx, `SELECT `+store.PoolCols+` FROM pools WHERE tenant_id = $1 AND id = $2`, tid, id))
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
	q := `SELECT ` + store.PoolCols + ` FROM pools WHERE tenant_id = $1 AND id > $2`
	args := []any{tid, opts.After}
	if f.CustomerID != "" {
		args = append(args, f.CustomerID)
		q += fmt.Sprintf(` AND customer_id = $%d`, len(args))
	}
	args = append(args, opts.Limit)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListPools", err)
	}
	out, err := store.All(rows, store.ScanPool)
	rows.Close()
	if err != nil {
		return nil, driverErr("ListPools", err)
	}
	return out, driverErr("ListPools", loadPoolFeatures(ctx, db.pool, tid, out))
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
	err = db.tx(ctx, "ResizePool", func(tx pgx.Tx) error {
		if err := lockPool(ctx, tx, tid, r.PoolID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE pools SET updated_at = $1,
			lease_ttl_ns = CASE WHEN $2::bigint > 0 THEN $2::bigint ELSE lease_ttl_ns END
			WHERE tenant_id = $3 AND id = $4`, updated, int64(r.LeaseTTL), tid, r.PoolID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return licensor.Errorf(licensor.ENOTFOUND, "pool %s not found", r.PoolID)
		}
		for _, f := range r.Features {
			if _, err := tx.Exec(ctx, `INSERT INTO pool_features (tenant_id, pool_id, feature, max_units, in_use)
				VALUES ($1, $2, $3, $4, 0)
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

// loadPoolFeatures fills the features of pools (all of one tenant) in one
// query.
func loadPoolFeatures(ctx context.Context, q querier, tid string, pools []*licensor.Pool) error {
	if len(pools) == 0 {
		return nil
	}
	byID := make(map[string]*licensor.Pool, len(pools))
	ids := make([]string, len(pools))
	for i, p := range pools {
		p.Features = p.Features[:0]
		byID[p.ID] = p
		ids[i] = p.ID
	}
	rows, err := q.Query(ctx, `SELECT pool_id, feature, max_units, in_use FROM pool_features
		WHERE tenant_id = $1 AND pool_id = ANY($2) ORDER BY pool_id, feature`, tid, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var f licensor.PoolFeature
		if err := rows.Scan(&id, &f.Feature, &f.MaxUnits, &f.InUse); err != nil {
			return err
		}
		byID[id].Features = append(byID[id].Features, f)
	}
	return rows.Err()
}
