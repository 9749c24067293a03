package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/licensor/licensor"
)

// CreateProduct stores p in the scoped tenant. ECONFLICT on a duplicate id
// or name; ENOTFOUND if the tenant does not exist.
func (db *DB) CreateProduct(ctx context.Context, p *licensor.Product) error {
	tid, err := claim(ctx, &p.TenantID)
	if err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = licensor.NewID(licensor.PrefixProduct)
	}
	p.CreatedAt = db.stamp(p.CreatedAt)
	return db.write(ctx, "CreateProduct", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO products (tenant_id, id, name, created_at) VALUES (?, ?, ?, ?)`,
			tid, p.ID, p.Name, micros(p.CreatedAt))
		return constraints{
			primaryKey: fmt.Sprintf("product %s already exists", p.ID),
			unique:     fmt.Sprintf("a product named %q already exists", p.Name),
			foreignKey: fmt.Sprintf("tenant %s not found", tid),
		}.translate(err)
	})
}

// GetProduct returns a product of the scoped tenant. ENOTFOUND.
func (db *DB) GetProduct(ctx context.Context, id string) (*licensor.Product, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var p licensor.Product
	var created int64
	err = db.rd.QueryRowContext(ctx, `SELECT tenant_id, id, name, created_at FROM products WHERE tenant_id = ? AND id = ?`, tid, id).
		Scan(&p.TenantID, &p.ID, &p.Name, &created)
	if err != nil {
		return nil, driverErr("GetProduct", notFound(err, fmt.Sprintf("product %s not found", id)))
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// ListProducts lists the scoped tenant's products by id.
func (db *DB) ListProducts(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Product, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if opts, err = page(opts); err != nil {
		return nil, err
	}
	rows, err := db.rd.QueryContext(ctx, `SELECT tenant_id, id, name, created_at FROM products
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tid, opts.After, opts.Limit)
	if err != nil {
		return nil, driverErr("ListProducts", err)
	}
	defer rows.Close()
	var out []*licensor.Product
	for rows.Next() {
		var p licensor.Product
		var created int64
		if err := rows.Scan(&p.TenantID, &p.ID, &p.Name, &created); err != nil {
			return nil, driverErr("ListProducts", err)
		}
		p.CreatedAt = fromMicros(created)
		out = append(out, &p)
	}
	return out, driverErr("ListProducts", rows.Err())
}

// CreateFeature stores f. ENOTFOUND for an unknown product, ECONFLICT on a
// duplicate name within the product.
func (db *DB) CreateFeature(ctx context.Context, f *licensor.Feature) error {
	tid, err := claim(ctx, &f.TenantID)
	if err != nil {
		return err
	}
	if f.ID == "" {
		f.ID = licensor.NewID(licensor.PrefixFeature)
	}
	f.CreatedAt = db.stamp(f.CreatedAt)
	return db.write(ctx, "CreateFeature", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO features (tenant_id, id, product_id, name, kind, description, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tid, f.ID, f.ProductID, f.Name, string(f.Kind), f.Description, micros(f.CreatedAt))
		return constraints{
			primaryKey: fmt.Sprintf("feature %s already exists", f.ID),
			unique:     fmt.Sprintf("product %s already has a feature named %q", f.ProductID, f.Name),
			foreignKey: fmt.Sprintf("product %s not found", f.ProductID),
		}.translate(err)
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
	var out []*licensor.Feature
	found := false
	for rows.Next() {
		found = true
		var id, name, kind, desc sql.NullString
		var created sql.NullInt64
		if err := rows.Scan(&id, &name, &kind, &desc, &created); err != nil {
			return nil, driverErr("ListFeatures", err)
		}
		if !id.Valid {
			continue
		}
		out = append(out, &licensor.Feature{
			ID: id.String, TenantID: tid, ProductID: productID, Name: name.String,
			Kind: licensor.FeatureKind(kind.String), Description: desc.String, CreatedAt: fromMicros(created.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, driverErr("ListFeatures", err)
	}
	if !found {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "product %s not found", productID)
	}
	return out, nil
}

// CreateCustomer stores c in the scoped tenant. ECONFLICT on a duplicate id.
func (db *DB) CreateCustomer(ctx context.Context, c *licensor.Customer) error {
	tid, err := claim(ctx, &c.TenantID)
	if err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = licensor.NewID(licensor.PrefixCustomer)
	}
	c.CreatedAt = db.stamp(c.CreatedAt)
	return db.write(ctx, "CreateCustomer", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (tenant_id, id, name, email, created_at) VALUES (?, ?, ?, ?, ?)`,
			tid, c.ID, c.Name, c.Email, micros(c.CreatedAt))
		return constraints{
			primaryKey: fmt.Sprintf("customer %s already exists", c.ID),
			foreignKey: fmt.Sprintf("tenant %s not found", tid),
		}.translate(err)
	})
}

// GetCustomer returns a customer of the scoped tenant. ENOTFOUND.
func (db *DB) GetCustomer(ctx context.Context, id string) (*licensor.Customer, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var c licensor.Customer
	var created int64
	err = db.rd.QueryRowContext(ctx, `SELECT tenant_id, id, name, email, created_at FROM customers WHERE tenant_id = ? AND id = ?`, tid, id).
		Scan(&c.TenantID, &c.ID, &c.Name, &c.Email, &created)
	if err != nil {
		return nil, driverErr("GetCustomer", notFound(err, fmt.Sprintf("customer %s not found", id)))
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

// ListCustomers lists the scoped tenant's customers by id.
func (db *DB) ListCustomers(ctx context.Context, opts licensor.ListOptions) ([]*licensor.Customer, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	if opts, err = page(opts); err != nil {
		return nil, err
	}
	rows, err := db.rd.QueryContext(ctx, `SELECT tenant_id, id, name, email, created_at FROM customers
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tid, opts.After, opts.Limit)
	if err != nil {
		return nil, driverErr("ListCustomers", err)
	}
	defer rows.Close()
	var out []*licensor.Customer
	for rows.Next() {
		var c licensor.Customer
		var created int64
		if err := rows.Scan(&c.TenantID, &c.ID, &c.Name, &c.Email, &created); err != nil {
			return nil, driverErr("ListCustomers", err)
		}
		c.CreatedAt = fromMicros(created)
		out = append(out, &c)
	}
	return out, driverErr("ListCustomers", rows.Err())
}
