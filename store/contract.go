package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/licensor/licensor"
)

// CreateContract stores c with Version 1 and no seats or non-production
// slots used. ENOTFOUND for
// an unknown customer or product; ECONFLICT on a duplicate id.
func (db *DB) CreateContract(ctx context.Context, c *licensor.Contract) error {
	tid, err := NewContract(ctx, c, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateContract", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO contracts (tenant_id, id, customer_id, product_id, name, status,
			starts_at, ends_at, license_validity_ns, refresh_interval_ns, seat_rule, max_seats, seats_used,
			max_nonprod_urls, nonprod_used, fallback, max_borrow_ns, client_ca_pem, version, created_at, updated_at, refuse_clones, metadata)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, ?, ?, 1, ?, ?, ?, ?)`,
			tid, c.ID, c.CustomerID, c.ProductID, c.Name, string(c.Status), Micros(c.StartsAt), Micros(c.EndsAt),
			int64(c.LicenseValidity), int64(c.RefreshInterval), string(c.SeatRule), c.MaxSeats,
			c.MaxNonProductionURLs, string(c.Fallback), int64(c.MaxBorrow), c.ClientCAPEM, Micros(c.CreatedAt), Micros(c.UpdatedAt), c.RefuseClones, MetadataText(c.Metadata))
		if db.d.Constraint(err) == ForeignKey {
			return db.missingReference(ctx, tx, tid, c, err)
		}
		if err = db.translate(err, ContractConstraints(c)); err != nil {
			return err
		}
		if err := db.insertFeatures(ctx, tx, tid, c); err != nil {
			return err
		}
		c.Version, c.SeatsUsed, c.NonProductionURLsUsed = 1, 0, 0
		return nil
	})
}

// missingReference names the reference of c that does not exist in the
// tenant, after its insert failed a foreign key: by the constraint's name
// where the engine gives it (PostgreSQL, whose transaction cannot run
// another statement now), by looking otherwise (SQLite).
func (db *DB) missingReference(ctx context.Context, tx Conn, tid string, c *licensor.Contract, cause error) error {
	customer := &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("customer %s not found", c.CustomerID), Err: cause}
	product := &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("product %s not found", c.ProductID), Err: cause}
	switch {
	case db.d.Violates(cause, "contracts_customer_fk"):
		return customer
	case db.d.Violates(cause, "contracts_product_fk"):
		return product
	}
	ok, err := Exists(ctx, tx, `SELECT 1 FROM customers WHERE tenant_id = ? AND id = ?`, tid, c.CustomerID)
	if err != nil {
		return err
	}
	if !ok {
		return customer
	}
	return product
}

const insertFeatureSQL = `INSERT INTO contract_features (tenant_id, contract_id, feature, kind, count) VALUES (?, ?, ?, ?, ?)`

// insertFeatures inserts c's features, in one round trip where the engine
// pipelines statements (Pipeliner). A feature listed twice fails the primary
// key: the domain refuses it first, so this is only the database's word.
func (db *DB) insertFeatures(ctx context.Context, tx Conn, tid string, c *licensor.Contract) error {
	if len(c.Features) == 0 {
		return nil
	}
	stmts := make([]Stmt, len(c.Features))
	for i, e := range c.Features {
		stmts[i] = Stmt{insertFeatureSQL, []any{tid, c.ID, e.Feature, string(e.Kind), e.Count}}
	}
	_, i, err := ExecStmts(ctx, tx, stmts)
	if db.d.Constraint(err) == PrimaryKey {
		return &licensor.Error{Code: licensor.EINVALID, Message: fmt.Sprintf("feature %q is listed twice", c.Features[i].Feature), Err: err}
	}
	return err
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
	rows, err := db.read().Query(ctx, `SELECT `+ContractCols+`, f.feature, f.kind, f.count
		FROM contracts c LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		WHERE c.tenant_id = ? AND c.id = ? ORDER BY f.feature`, tid, id)
	if err != nil {
		return nil, db.Final("GetContract", err)
	}
	cs, err := scanContracts(rows)
	if err != nil {
		return nil, db.Final("GetContract", err)
	}
	if len(cs) == 0 {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "contract %s not found", id)
	}
	return cs[0], nil
}

// ListContracts lists the scoped tenant's contracts by id, with features,
// optionally of one customer and in one status.
func (db *DB) ListContracts(ctx context.Context, f licensor.ContractFilter) ([]*licensor.Contract, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	var where strings.Builder
	args := []any{tid, opts.After}
	where.WriteString(`tenant_id = ? AND id > ?`)
	if f.CustomerID != "" {
		where.WriteString(` AND customer_id = ?`)
		args = append(args, f.CustomerID)
	}
	if f.Status != "" {
		now := f.Now
		if now.IsZero() {
			now = db.now()
		}
		cond, err := ContractStatusCond(f.Status, now, func(v any) string { args = append(args, v); return "?" })
		if err != nil {
			return nil, err
		}
		where.WriteString(` AND ` + cond)
	}
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, `SELECT `+ContractCols+`, f.feature, f.kind, f.count
		FROM (SELECT * FROM contracts WHERE `+where.String()+` ORDER BY id LIMIT ?) c
		LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		ORDER BY c.id, f.feature`, args...)
	if err != nil {
		return nil, db.Final("ListContracts", err)
	}
	cs, err := scanContracts(rows)
	return cs, db.Final("ListContracts", err)
}

// scanContracts reads contract rows joined with their features, ordered by
// contract, and closes rows.
func scanContracts(rows Rows) ([]*licensor.Contract, error) {
	defer rows.Close()
	return ScanContracts(rows)
}

// UpdateContract replaces the mutable fields and the features of c if its
// stored Version is still c.Version, and increments Version, in the store
// and in c. CustomerID, ProductID, SeatsUsed, NonProductionURLsUsed and
// CreatedAt are not mutable:
// c gets the stored values back. ECONFLICT if another change won; ENOTFOUND.
func (db *DB) UpdateContract(ctx context.Context, c *licensor.Contract) error {
	tid, err := ClaimTenant(ctx, &c.TenantID)
	if err != nil {
		return err
	}
	updated := db.stamp(c.UpdatedAt)
	starts, ends := Norm(c.StartsAt), Norm(c.EndsAt)
	var version int64
	var seats, nonprod int
	var created int64
	var customer, product string
	err = db.write(ctx, "UpdateContract", func(tx Conn) error {
		// The version check and the update are one statement: of two
		// concurrent changes to the same version, the second waits for the
		// first's row lock, then finds the version moved and matches nothing.
		err := tx.QueryRow(ctx, `UPDATE contracts SET name = ?, status = ?, starts_at = ?, ends_at = ?,
			license_validity_ns = ?, refresh_interval_ns = ?, seat_rule = ?, max_seats = ?, max_nonprod_urls = ?,
			fallback = ?, max_borrow_ns = ?, client_ca_pem = ?, refuse_clones = ?, metadata = ?, version = version + 1, updated_at = ?
			WHERE tenant_id = ? AND id = ? AND version = ?
			RETURNING version, seats_used, nonprod_used, created_at, customer_id, product_id`,
			c.Name, string(c.Status), Micros(starts), Micros(ends), int64(c.LicenseValidity), int64(c.RefreshInterval),
			string(c.SeatRule), c.MaxSeats, c.MaxNonProductionURLs, string(c.Fallback), int64(c.MaxBorrow), c.ClientCAPEM, c.RefuseClones, MetadataText(c.Metadata), Micros(updated),
			tid, c.ID, c.Version).Scan(&version, &seats, &nonprod, &created, &customer, &product)
		if NoRows(err) {
			var current int64
			err := tx.QueryRow(ctx, `SELECT version FROM contracts WHERE tenant_id = ? AND id = ?`, tid, c.ID).Scan(&current)
			if err != nil {
				return NotFound(err, fmt.Sprintf("contract %s not found", c.ID))
			}
			return licensor.Errorf(licensor.ECONFLICT,
				"contract %s was changed by someone else (it is at version %d, the change was made to version %d): re-read it and retry",
				c.ID, current, c.Version)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contract_features WHERE tenant_id = ? AND contract_id = ?`, tid, c.ID); err != nil {
			return err
		}
		return db.insertFeatures(ctx, tx, tid, c)
	})
	if err != nil {
		return err
	}
	c.Version, c.SeatsUsed, c.NonProductionURLsUsed = version, seats, nonprod
	c.CreatedAt, c.UpdatedAt = FromMicros(created), updated
	c.StartsAt, c.EndsAt = starts, ends
	c.CustomerID, c.ProductID = customer, product
	return nil
}
