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

// CreateContract stores c with Version 1 and no seats used. ENOTFOUND for
// an unknown customer or product; ECONFLICT on a duplicate id.
func (db *DB) CreateContract(ctx context.Context, c *licensor.Contract) error {
	tid, err := store.NewContract(ctx, c, db.now)
	if err != nil {
		return err
	}
	err = db.tx(ctx, "CreateContract", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contracts (tenant_id, id, customer_id, product_id, name, status,
			starts_at, ends_at, license_validity_ns, refresh_interval_ns, seat_rule, max_seats, seats_used,
			fallback, max_borrow_ns, client_ca_pem, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15, 1, $16, $17)`,
			tid, c.ID, c.CustomerID, c.ProductID, c.Name, string(c.Status), micros(c.StartsAt), micros(c.EndsAt),
			int64(c.LicenseValidity), int64(c.RefreshInterval), string(c.SeatRule), int32(c.MaxSeats),
			string(c.Fallback), int64(c.MaxBorrow), c.ClientCAPEM, micros(c.CreatedAt), micros(c.UpdatedAt))
		switch {
		case violates(err, "contracts_customer_fk"):
			return &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("customer %s not found", c.CustomerID), Err: err}
		case violates(err, "contracts_product_fk"):
			return &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("product %s not found", c.ProductID), Err: err}
		}
		if err = translateErr(err, store.ContractConstraints(c)); err != nil {
			return err
		}
		return insertFeatures(ctx, tx, tid, c)
	})
	if err != nil {
		return err
	}
	c.Version, c.SeatsUsed = 1, 0
	return nil
}

func insertFeatures(ctx context.Context, tx pgx.Tx, tid string, c *licensor.Contract) error {
	if len(c.Features) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(c.Features))
	b := &pgx.Batch{}
	for _, e := range c.Features {
		if seen[e.Feature] {
			return licensor.Errorf(licensor.EINVALID, "feature %q is listed twice", e.Feature)
		}
		seen[e.Feature] = true
		b.Queue(`INSERT INTO contract_features (tenant_id, contract_id, feature, kind, count)
			VALUES ($1, $2, $3, $4, $5)`, tid, c.ID, e.Feature, string(e.Kind), e.Count)
	}
	return tx.SendBatch(ctx, b).Close()
}

// GetContract returns a contract of the scoped tenant with its features.
// ENOTFOUND.
func (db *DB) GetContract(ctx context.Context, id string) (*licensor.Contract, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	// One statement, one snapshot: the contract and its features can never
	// come from two sides of an UpdateContract.
	rows, err := db.pool.Query(ctx, `SELECT `+store.ContractCols+`, f.feature, f.kind, f.count
		FROM contracts c LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		WHERE c.tenant_id = $1 AND c.id = $2 ORDER BY f.feature`, tid, id)
	if err != nil {
		return nil, driverErr("GetContract", err)
	}
	cs, err := scanContracts(rows)
	if err != nil {
		return nil, driverErr("GetContract", err)
	}
	if len(cs) == 0 {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "contract %s not found", id)
	}
	return cs[0], nil
}

// ListContracts lists the scoped tenant's contracts by id, with features,
// optionally of one customer and in one status.
func (db *DB) ListContracts(ctx context.Context, f licensor.ContractFilter) ([]*licensor.Contract, error) {
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	var where strings.Builder
	args := []any{tid, opts.After}
	where.WriteString(`tenant_id = $1 AND id > $2`)
	if f.CustomerID != "" {
		args = append(args, f.CustomerID)
		fmt.Fprintf(&where, ` AND customer_id = $%d`, len(args))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		fmt.Fprintf(&where, ` AND status = $%d`, len(args))
	}
	args = append(args, opts.Limit)
	rows, err := db.pool.Query(ctx, `SELECT `+store.ContractCols+`, f.feature, f.kind, f.count
		FROM (SELECT * FROM contracts WHERE `+where.String()+fmt.Sprintf(` ORDER BY id LIMIT $%d) c`, len(args))+`
		LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		ORDER BY c.id, f.feature`, args...)
	if err != nil {
		return nil, driverErr("ListContracts", err)
	}
	cs, err := scanContracts(rows)
	return cs, driverErr("ListContracts", err)
}

// scanContracts reads contract rows joined with their features, ordered by
// contract, and closes rows.
func scanContracts(rows pgx.Rows) ([]*licensor.Contract, error) {
	defer rows.Close()
	return store.ScanContracts(rows)
}

// UpdateContract replaces the mutable fields and the features of c if its
// stored Version is still c.Version, and increments Version, in the store
// and in c. CustomerID, ProductID, SeatsUsed and CreatedAt are not mutable:
// c gets the stored values back. ECONFLICT if another change won; ENOTFOUND.
func (db *DB) UpdateContract(ctx context.Context, c *licensor.Contract) error {
	tid, err := claim(ctx, &c.TenantID)
	if err != nil {
		return err
	}
	updated := db.stamp(c.UpdatedAt)
	starts, ends := norm(c.StartsAt), norm(c.EndsAt)
	var version int64
	var seats int32
	var created int64
	var customer, product string
	err = db.tx(ctx, "UpdateContract", func(tx pgx.Tx) error {
		// The version check and the update are one statement: of two
		// concurrent changes to the same version, the second waits for the
		// first's row lock, then finds the version moved and matches nothing.
		err := tx.QueryRow(ctx, `UPDATE contracts SET name = $1, status = $2, starts_at = $3, ends_at = $4,
			license_validity_ns = $5, refresh_interval_ns = $6, seat_rule = $7, max_seats = $8, fallback = $9,
			max_borrow_ns = $10, client_ca_pem = $11, version = version + 1, updated_at = $12
			WHERE tenant_id = $13 AND id = $14 AND version = $15
			RETURNING version, seats_used, created_at, customer_id, product_id`,
			c.Name, string(c.Status), micros(starts), micros(ends), int64(c.LicenseValidity), int64(c.RefreshInterval),
			string(c.SeatRule), int32(c.MaxSeats), string(c.Fallback), int64(c.MaxBorrow), c.ClientCAPEM, micros(updated),
			tid, c.ID, c.Version).Scan(&version, &seats, &created, &customer, &product)
		if errors.Is(err, pgx.ErrNoRows) {
			var current int64
			err := tx.QueryRow(ctx, `SELECT version FROM contracts WHERE tenant_id = $1 AND id = $2`, tid, c.ID).Scan(&current)
			if err != nil {
				return notFound(err, fmt.Sprintf("contract %s not found", c.ID))
			}
			return licensor.Errorf(licensor.ECONFLICT,
				"contract %s was changed by someone else (it is at version %d, the change was made to version %d): re-read it and retry",
				c.ID, current, c.Version)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contract_features WHERE tenant_id = $1 AND contract_id = $2`, tid, c.ID); err != nil {
			return err
		}
		return insertFeatures(ctx, tx, tid, c)
	})
	if err != nil {
		return err
	}
	c.Version, c.SeatsUsed = version, int(seats)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), updated
	c.StartsAt, c.EndsAt = starts, ends
	c.CustomerID, c.ProductID = customer, product
	return nil
}
