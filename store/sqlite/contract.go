package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	sqlite3 "modernc.org/sqlite/lib"
)

// CreateContract stores c with Version 1 and no seats used. ENOTFOUND for
// an unknown customer or product; ECONFLICT on a duplicate id.
func (db *DB) CreateContract(ctx context.Context, c *licensor.Contract) error {
	tid, err := store.NewContract(ctx, c, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateContract", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO contracts (tenant_id, id, customer_id, product_id, name, status,
			starts_at, ends_at, license_validity_ns, refresh_interval_ns, seat_rule, max_seats, seats_used,
			fallback, max_borrow_ns, client_ca_pem, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 1, ?, ?)`,
			tid, c.ID, c.CustomerID, c.ProductID, c.Name, string(c.Status), micros(c.StartsAt), micros(c.EndsAt),
			int64(c.LicenseValidity), int64(c.RefreshInterval), string(c.SeatRule), c.MaxSeats,
			string(c.Fallback), int64(c.MaxBorrow), c.ClientCAPEM, micros(c.CreatedAt), micros(c.UpdatedAt))
		if isForeignKey(err) {
			return missingReference(ctx, tx, tid, c)
		}
		if err = translateErr(err, store.ContractConstraints(c)); err != nil {
			return err
		}
		if err := insertFeatures(ctx, tx, tid, c); err != nil {
			return err
		}
		c.Version, c.SeatsUsed = 1, 0
		return nil
	})
}

// missingReference names the reference of c that does not exist in the
// tenant, after its insert failed a foreign key (SQLite does not say which).
func missingReference(ctx context.Context, tx *sql.Tx, tid string, c *licensor.Contract) error {
	ok, err := exists(ctx, tx, `SELECT 1 FROM customers WHERE tenant_id = ? AND id = ?`, tid, c.CustomerID)
	if err != nil {
		return err
	}
	if !ok {
		return licensor.Errorf(licensor.ENOTFOUND, "customer %s not found", c.CustomerID)
	}
	return licensor.Errorf(licensor.ENOTFOUND, "product %s not found", c.ProductID)
}

func insertFeatures(ctx context.Context, tx *sql.Tx, tid string, c *licensor.Contract) error {
	for _, e := range c.Features {
		_, err := tx.ExecContext(ctx, `INSERT INTO contract_features (tenant_id, contract_id, feature, kind, count)
			VALUES (?, ?, ?, ?, ?)`, tid, c.ID, e.Feature, string(e.Kind), e.Count)
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return &licensor.Error{Code: licensor.EINVALID, Message: fmt.Sprintf("feature %q is listed twice", e.Feature), Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
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
	rows, err := db.rd.QueryContext(ctx, `SELECT `+store.ContractCols+`, f.feature, f.kind, f.count
		FROM contracts c LEFT JOIN contract_features f ON f.tenant_id = c.tenant_id AND f.contract_id = c.id
		WHERE c.tenant_id = ? AND c.id = ? ORDER BY f.feature`, tid, id)
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
	where.WriteString(`tenant_id = ? AND id > ?`)
	if f.CustomerID != "" {
		where.WriteString(` AND customer_id = ?`)
		args = append(args, f.CustomerID)
	}
	if f.Status != "" {
		where.WriteString(` AND status = ?`)
		args = append(args, string(f.Status))
	}
	args = append(args, opts.Limit)
	rows, err := db.rd.QueryContext(ctx, `SELECT `+store.ContractCols+`, f.feature, f.kind, f.count
		FROM (SELECT * FROM contracts WHERE `+where.String()+` ORDER BY id LIMIT ?) c
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
func scanContracts(rows *sql.Rows) ([]*licensor.Contract, error) {
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
	var seats int
	var created int64
	var customer, product string
	err = db.write(ctx, "UpdateContract", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE contracts SET name = ?, status = ?, starts_at = ?, ends_at = ?,
			license_validity_ns = ?, refresh_interval_ns = ?, seat_rule = ?, max_seats = ?, fallback = ?,
			max_borrow_ns = ?, client_ca_pem = ?, version = version + 1, updated_at = ?
			WHERE tenant_id = ? AND id = ? AND version = ?
			RETURNING version, seats_used, created_at, customer_id, product_id`,
			c.Name, string(c.Status), micros(starts), micros(ends), int64(c.LicenseValidity), int64(c.RefreshInterval),
			string(c.SeatRule), c.MaxSeats, string(c.Fallback), int64(c.MaxBorrow), c.ClientCAPEM, micros(updated),
			tid, c.ID, c.Version).Scan(&version, &seats, &created, &customer, &product)
		if errors.Is(err, sql.ErrNoRows) {
			var current int64
			err := tx.QueryRowContext(ctx, `SELECT version FROM contracts WHERE tenant_id = ? AND id = ?`, tid, c.ID).Scan(&current)
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM contract_features WHERE tenant_id = ? AND contract_id = ?`, tid, c.ID); err != nil {
			return err
		}
		return insertFeatures(ctx, tx, tid, c)
	})
	if err != nil {
		return err
	}
	c.Version, c.SeatsUsed = version, seats
	c.CreatedAt, c.UpdatedAt = fromMicros(created), updated
	c.StartsAt, c.EndsAt = starts, ends
	c.CustomerID, c.ProductID = customer, product
	return nil
}
