package store

import (
	"time"

	"github.com/licensor/licensor"
)

// PoolCols are the columns ScanPool reads (without its features).
const PoolCols = `tenant_id, id, customer_id, COALESCE(contract_id, ''), name, lease_ttl_ns, express, created_at, updated_at`

// ScanPool decodes a row of PoolCols.
func ScanPool(s Scanner) (*licensor.Pool, error) {
	var p licensor.Pool
	var ttl, created, updated int64
	if err := s.Scan(&p.TenantID, &p.ID, &p.CustomerID, &p.ContractID, &p.Name, &ttl, &p.Express, &created, &updated); err != nil {
		return nil, err
	}
	p.LeaseTTL = time.Duration(ttl)
	p.CreatedAt, p.UpdatedAt = FromMicros(created), FromMicros(updated)
	return &p, nil
}
