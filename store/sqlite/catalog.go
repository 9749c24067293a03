package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/internal/newrecord"
)

// CreateProduct stores p in the scoped tenant. ECONFLICT on a duplicate id
// or name; ENOTFOUND if the tenant does not exist.
func (db *DB) CreateProduct(ctx context.Context, p *licensor.Product) error {
	tid, err := newrecord.Product(ctx, p, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateProduct", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO products (`+store.ProductCols+`) VALUES (?, ?, ?, ?)`,
			tid, p.ID, p.Name, micros(p.CreatedAt))
		return translateErr(err, newrecord.ProductConstraints(p))
	})
}

// GetProduct returns a product of the scoped tenant. ENOTFOUND.
func (db *DB) GetProduct(ctx context.Context, id string) (*licensor.Product, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := store.ScanProduct(db.rd.QueryRowContext(ctx, `SELECT `+store.ProductCols+` FROM products WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, driverErr("GetProduct", notFound(err, fmt.Sprintf("product %s not found", id)))
	}
	return p, nil
}

// ListProducts lists the scoped tenant's products by id.
func (db *DB) ListProducts(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Product, error) {
	tid, opts, err := store.TenantList(ctx, opts)
	if err != nil {
		return nil, err
	}
	rows, err := db.rd.QueryContext(ctx, `SELECT `+store.ProductCols+` FROM products
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tid, opts.After, opts.Limit)
	if err != nil {
		return nil, driverErr("ListProducts", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanProduct)
	return out, driverErr("ListProducts", err)
}

// CreateFeature stores f. ENOTFOUND for an unknown product, ECONFLICT on a
// duplicate name within the product.
func (db *DB) CreateFeature(ctx context.Context, f *licensor.Feature) error {
	tid, err := newrecord.Feature(ctx, f, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateFeature", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO features (tenant_id, id, product_id, name, kind, description, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tid, f.ID, f.ProductID, f.Name, string(f.Kind), f.Description, micros(f.CreatedAt))
		return translateErr(err, newrecord.FeatureConstraints(f))
	})
}

// ListFeatures returns all features of a product by id. ENOTFOUND for an
// unknown product.
func (db *DB) ListFeatures(ctx context.Context, productID string) ([]*licensor.Feature, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	// One statement, so the product's existence and its features come from
	// one snapshot: a product row with no features yields one row of NULLs.
	rows, err := db.rd.QueryContext(ctx, `SELECT f.id, f.name, f.kind, f.description, f.created_at
		FROM products p LEFT JOIN features f ON f.tenant_id = p.tenant_id AND f.product_id = p.id
		WHERE p.tenant_id = ? AND p.id = ? ORDER BY f.id`, tid, productID)
	if err != nil {
		return nil, driverErr("ListFeatures", err)
	}
	defer rows.Close()
	out, found, err := store.ScanProductFeatures(rows, tid, productID)
	if err != nil {
		return nil, driverErr("ListFeatures", err)
	}
	if !found {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "product %s not found", productID)
	}
	return out, nil
}

// CreateCustomer stores c in the scoped tenant. ECONFLICT on a duplicate id.
func (db *DB) CreateCustomer(ctx context.Context, c *licensor.Customer) error {
	tid, err := newrecord.Customer(ctx, c, db.now)
	if err != nil {
		return err
	}
	return db.write(ctx, "CreateCustomer", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (`+store.CustomerCols+`) VALUES (?, ?, ?, ?, ?)`,
			tid, c.ID, c.Name, c.Email, micros(c.CreatedAt))
		return translateErr(err, newrecord.CustomerConstraints(c))
	})
}

// GetCustomer returns a customer of the scoped tenant. ENOTFOUND.
func (db *DB) GetCustomer(ctx context.Context, id string) (*licensor.Customer, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := store.ScanCustomer(db.rd.QueryRowContext(ctx, `SELECT `+store.CustomerCols+` FROM customers WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, driverErr("GetCustomer", notFound(err, fmt.Sprintf("customer %s not found", id)))
	}
	return c, nil
}

// ListCustomers lists the scoped tenant's customers by id.
func (db *DB) ListCustomers(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Customer, error) {
	tid, opts, err := store.TenantList(ctx, opts)
	if err != nil {
		return nil, err
	}
	rows, err := db.rd.QueryContext(ctx, `SELECT `+store.CustomerCols+` FROM customers
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tid, opts.After, opts.Limit)
	if err != nil {
		return nil, driverErr("ListCustomers", err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanCustomer)
	return out, driverErr("ListCustomers", err)
}
