package store

import (
	"context"
	"fmt"

	"github.com/licensor/licensor"
)

// UpdateProduct renames a product of the scoped tenant. ENOTFOUND;
// ECONFLICT if another product has the name.
func (db *DB) UpdateProduct(ctx context.Context, p *licensor.Product) error {
	tid, err := ClaimTenant(ctx, &p.TenantID)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "UpdateProduct", func(tx Conn) error {
		var created int64
		err := tx.QueryRow(ctx, `UPDATE products SET name = ? WHERE tenant_id = ? AND id = ? RETURNING created_at`,
			p.Name, tid, p.ID).Scan(&created)
		if err != nil {
			return NotFound(db.translate(err, ProductConstraints(p)), fmt.Sprintf("product %s not found", p.ID))
		}
		p.CreatedAt = FromMicros(created)
		return nil
	})
}

// DeleteProduct deletes a product of the scoped tenant and its features.
// EPRECONDITION while a contract is for the product, naming how many and
// one of them; ENOTFOUND.
func (db *DB) DeleteProduct(ctx context.Context, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.write(ctx, "DeleteProduct", func(tx Conn) error {
		if err := db.refusedIfReferenced(ctx, tx, "product "+id, []reference{
			{"contract", "id", `FROM contracts WHERE tenant_id = ? AND product_id = ?`},
		}, tid, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM features WHERE tenant_id = ? AND product_id = ?`, tid, id); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM products WHERE tenant_id = ? AND id = ?`, tid, id)
		return db.stillReferenced(affected(n, err, fmt.Sprintf("product %s not found", id)), "product "+id)
	})
}

// GetFeature returns a feature of the scoped tenant. ENOTFOUND.
func (db *DB) GetFeature(ctx context.Context, id string) (*licensor.Feature, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := licensor.Feature{TenantID: tid}
	var kind string
	var created int64
	err = db.read().QueryRow(ctx, `SELECT id, product_id, name, kind, description, created_at FROM features
		WHERE tenant_id = ? AND id = ?`, tid, id).Scan(&f.ID, &f.ProductID, &f.Name, &kind, &f.Description, &created)
	if err != nil {
		return nil, db.Final("GetFeature", NotFound(err, fmt.Sprintf("feature %s not found", id)))
	}
	f.Kind, f.CreatedAt = licensor.FeatureKind(kind), FromMicros(created)
	return &f, nil
}

// UpdateFeature replaces the description of a feature of the scoped
// tenant; its name and kind are what contracts grant, so they stay.
// ENOTFOUND.
func (db *DB) UpdateFeature(ctx context.Context, f *licensor.Feature) error {
	tid, err := ClaimTenant(ctx, &f.TenantID)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "UpdateFeature", func(tx Conn) error {
		var kind string
		var created int64
		err := tx.QueryRow(ctx, `UPDATE features SET description = ? WHERE tenant_id = ? AND id = ?
			RETURNING product_id, name, kind, created_at`, f.Description, tid, f.ID).Scan(&f.ProductID, &f.Name, &kind, &created)
		if err != nil {
			return NotFound(err, fmt.Sprintf("feature %s not found", f.ID))
		}
		f.Kind, f.CreatedAt = licensor.FeatureKind(kind), FromMicros(created)
		return nil
	})
}

// DeleteFeature deletes a feature of the scoped tenant. EPRECONDITION
// while a contract for its product grants it; ENOTFOUND.
func (db *DB) DeleteFeature(ctx context.Context, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.write(ctx, "DeleteFeature", func(tx Conn) error {
		var product, name string
		err := tx.QueryRow(ctx, `SELECT product_id, name FROM features WHERE tenant_id = ? AND id = ?`, tid, id).Scan(&product, &name)
		if err != nil {
			return NotFound(err, fmt.Sprintf("feature %s not found", id))
		}
		if err := db.refusedIfReferenced(ctx, tx, fmt.Sprintf("feature %s (%s)", id, name), []reference{
			{"contract", "c.id", `FROM contracts c WHERE c.tenant_id = ?1 AND c.product_id = ?2 AND EXISTS (SELECT 1 FROM contract_features f
				WHERE f.tenant_id = c.tenant_id AND f.contract_id = c.id AND f.feature = ?3)`},
		}, tid, product, name); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM features WHERE tenant_id = ? AND id = ?`, tid, id)
		return err
	})
}

// UpdateCustomer replaces the name, email and metadata of a customer of
// the scoped tenant. ENOTFOUND.
func (db *DB) UpdateCustomer(ctx context.Context, c *licensor.Customer) error {
	tid, err := ClaimTenant(ctx, &c.TenantID)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "UpdateCustomer", func(tx Conn) error {
		var created int64
		err := tx.QueryRow(ctx, `UPDATE customers SET name = ?, email = ?, metadata = ? WHERE tenant_id = ? AND id = ?
			RETURNING created_at`, c.Name, c.Email, MetadataText(c.Metadata), tid, c.ID).Scan(&created)
		if err != nil {
			return NotFound(err, fmt.Sprintf("customer %s not found", c.ID))
		}
		c.CreatedAt = FromMicros(created)
		return nil
	})
}

// DeleteCustomer deletes a customer of the scoped tenant. EPRECONDITION
// while a contract or a pool is the customer's; ENOTFOUND.
func (db *DB) DeleteCustomer(ctx context.Context, id string) error {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return err
	}
	return db.write(ctx, "DeleteCustomer", func(tx Conn) error {
		if err := db.refusedIfReferenced(ctx, tx, "customer "+id, []reference{
			{"contract", "id", `FROM contracts WHERE tenant_id = ? AND customer_id = ?`},
			{"pool", "id", `FROM pools WHERE tenant_id = ? AND customer_id = ?`},
		}, tid, id); err != nil {
			return err
		}
		// Portal links are only ways into the customer: they go with it.
		if _, err := tx.Exec(ctx, `DELETE FROM portal_links WHERE tenant_id = ? AND customer_id = ?`, tid, id); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM customers WHERE tenant_id = ? AND id = ?`, tid, id)
		return db.stillReferenced(affected(n, err, fmt.Sprintf("customer %s not found", id)), "customer "+id)
	})
}

// reference is a kind of row that refers to an object: its noun and the
// FROM ... WHERE clause that selects the rows referring to it.
type reference struct {
	noun string
	id   string // the referring row's id column in from
	from string
}

// refusedIfReferenced returns EPRECONDITION naming what still refers to
// what (how many of the first kind found, and one of them by id), or nil
// when nothing does. refs' clauses take args.
func (db *DB) refusedIfReferenced(ctx context.Context, tx Conn, what string, refs []reference, args ...any) error {
	for _, r := range refs {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) `+r.from, args...).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		var one string
		if err := tx.QueryRow(ctx, `SELECT MIN(`+r.id+`) `+r.from, args...).Scan(&one); err != nil {
			return err
		}
		noun := r.noun
		if n > 1 {
			noun += "s"
		}
		return licensor.Errorf(licensor.EPRECONDITION, "%s is still referenced by %d %s (e.g. %s): delete or end those first", what, n, noun, one)
	}
	return nil
}

// stillReferenced turns a foreign-key failure of a DELETE (a reference
// added between the check and the delete) into EPRECONDITION.
func (db *DB) stillReferenced(err error, what string) error {
	if err != nil && db.d.Constraint(err) == ForeignKey {
		return &licensor.Error{Code: licensor.EPRECONDITION, Message: what + " is still referenced: delete what refers to it first", Err: err}
	}
	return err
}
