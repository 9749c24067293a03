package store

import (
	"database/sql"

	"github.com/licensor/licensor"
)

// ProductCols are the columns ScanProduct reads.
const ProductCols = `tenant_id, id, name, created_at`

// ScanProduct decodes a row of ProductCols.
func ScanProduct(s Scanner) (*licensor.Product, error) {
	var p licensor.Product
	var created int64
	if err := s.Scan(&p.TenantID, &p.ID, &p.Name, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = FromMicros(created)
	return &p, nil
}

// ScanProductFeatures decodes f.id, f.name, f.kind, f.description,
// f.created_at of one product of tenant tid LEFT JOINed with its features
// f, in order. A product with no features is one row of NULLs; no row at
// all is no such product (found false).
func ScanProductFeatures(rows Iter, tid, productID string) (features []*licensor.Feature, found bool, err error) {
	var id, name, kind, desc sql.NullString
	var created sql.NullInt64
	dest := []any{&id, &name, &kind, &desc, &created} // reused: see ScanContracts
	for rows.Next() {
		found = true
		if err := rows.Scan(dest...); err != nil {
			return nil, false, err
		}
		if !id.Valid {
			continue
		}
		features = append(features, &licensor.Feature{
			ID: id.String, TenantID: tid, ProductID: productID, Name: name.String,
			Kind: licensor.FeatureKind(kind.String), Description: desc.String, CreatedAt: FromMicros(created.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return features, found, nil
}

// CustomerCols are the columns ScanCustomer reads.
const CustomerCols = `tenant_id, id, name, email, created_at, metadata`

// ScanCustomer decodes a row of CustomerCols.
func ScanCustomer(s Scanner) (*licensor.Customer, error) {
	var c licensor.Customer
	var created int64
	var meta string
	if err := s.Scan(&c.TenantID, &c.ID, &c.Name, &c.Email, &created, &meta); err != nil {
		return nil, err
	}
	if err := ParseMetadata(meta, &c.Metadata); err != nil {
		return nil, err
	}
	c.CreatedAt = FromMicros(created)
	return &c, nil
}
