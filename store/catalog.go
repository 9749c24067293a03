package store

import (
	"context"
	"fmt"

	"github.com/licensor/licensor"
)

// CreateProduct stores p in the scoped tenant. ECONFLICT on a duplicate id
// or name; ENOTFOUND if the tenant does not exist.
func (db *DB) CreateProduct(ctx context.Context, p *licensor.Product) error {
	tid, err := NewProduct(ctx, p, db.now)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "CreateProduct", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO products (`+ProductCols+`) VALUES (?, ?, ?, ?)`,
			tid, p.ID, p.Name, Micros(p.CreatedAt))
		return db.translate(err, ProductConstraints(p))
	})
}

// GetProduct returns a product of the scoped tenant. ENOTFOUND.
func (db *DB) GetProduct(ctx context.Context, id string) (*licensor.Product, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := ScanProduct(db.read().QueryRow(ctx, `SELECT `+ProductCols+` FROM products WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, db.Final("GetProduct", NotFound(err, fmt.Sprintf("product %s not found", id)))
	}
	return p, nil
}

// ListProducts lists the scoped tenant's products by id.
func (db *DB) ListProducts(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Product, error) {
	tid, opts, err := TenantList(ctx, opts)
	if err != nil {
		return nil, err
	}
	rows, err := db.read().Query(ctx, `SELECT `+ProductCols+` FROM products
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tid, opts.After, opts.Limit)
	if err != nil {
		return nil, db.Final("ListProducts", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanProduct)
	return out, db.Final("ListProducts", err)
}

// CreateFeature stores f. ENOTFOUND for an unknown product, ECONFLICT on a
// duplicate name within the product.
func (db *DB) CreateFeature(ctx context.Context, f *licensor.Feature) error {
	tid, err := NewFeature(ctx, f, db.now)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "CreateFeature", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO features (tenant_id, id, product_id, name, kind, description, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tid, f.ID, f.ProductID, f.Name, string(f.Kind), f.Description, Micros(f.CreatedAt))
		return db.translate(err, FeatureConstraints(f))
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
	rows, err := db.read().Query(ctx, `SELECT f.id, f.name, f.kind, f.description, f.created_at
		FROM products p LEFT JOIN features f ON f.tenant_id = p.tenant_id AND f.product_id = p.id
		WHERE p.tenant_id = ? AND p.id = ? ORDER BY f.id`, tid, productID)
	if err != nil {
		return nil, db.Final("ListFeatures", err)
	}
	defer rows.Close()
	out, found, err := ScanProductFeatures(rows, tid, productID)
	if err != nil {
		return nil, db.Final("ListFeatures", err)
	}
	if !found {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "product %s not found", productID)
	}
	return out, nil
}

// CreateCustomer stores c in the scoped tenant. ECONFLICT on a duplicate id.
func (db *DB) CreateCustomer(ctx context.Context, c *licensor.Customer) error {
	tid, err := NewCustomer(ctx, c, db.now)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "CreateCustomer", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO customers (`+CustomerCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			tid, c.ID, c.Name, c.Email, Micros(c.CreatedAt), MetadataText(c.Metadata))
		return db.translate(err, CustomerConstraints(c))
	})
}

// GetCustomer returns a customer of the scoped tenant. ENOTFOUND.
func (db *DB) GetCustomer(ctx context.Context, id string) (*licensor.Customer, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := ScanCustomer(db.read().QueryRow(ctx, `SELECT `+CustomerCols+` FROM customers WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, db.Final("GetCustomer", NotFound(err, fmt.Sprintf("customer %s not found", id)))
	}
	return c, nil
}

// ListCustomers lists the scoped tenant's customers by id.
func (db *DB) ListCustomers(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Customer, error) {
	tid, opts, err := TenantList(ctx, opts)
	if err != nil {
		return nil, err
	}
	rows, err := db.read().Query(ctx, `SELECT `+CustomerCols+` FROM customers
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tid, opts.After, opts.Limit)
	if err != nil {
		return nil, db.Final("ListCustomers", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanCustomer)
	return out, db.Final("ListCustomers", err)
}
