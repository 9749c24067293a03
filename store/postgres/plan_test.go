package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/postgres"
)

// TestSearchInstancesPlan: on 20,000 instances (analyzed), the console's
// instance search is an index scan in the index's order, but for the id
// prefix (a range of instances_id, then a sort of what matched) and the
// customer (its contracts' instances by an index, then a sort). The
// version filter is left out: no index serves it, and the planner may
// rightly prefer a scan of a small table to a walk of instances_seen.
func TestSearchInstancesPlan(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	ten, seed := planSeed(t, db)
	// One check-in a minute: 60 instances in each hour of last check-in.
	cursor := store.SearchInstancesCursor(15000*60000000, "con_5", "inst-5")
	for i, tc := range []struct {
		name  string
		s     licensor.InstanceSearch
		index []string // any of these
		sort  bool
	}{
		{"All", licensor.InstanceSearch{}, []string{"instances_seen"}, false},
		{"Cursor", licensor.InstanceSearch{Cursor: cursor}, []string{"instances_seen"}, false},
		{"SeenRange", licensor.InstanceSearch{SeenSince: time.UnixMicro(60000000), SeenBefore: time.UnixMicro(9000 * 60000000)}, []string{"instances_seen"}, false},
		{"Contract", licensor.InstanceSearch{ContractID: "con_7"}, []string{"instances_contract_seen"}, false},
		{"ContractCursor", licensor.InstanceSearch{ContractID: "con_7", Cursor: cursor}, []string{"instances_contract_seen"}, false},
		{"Prefix", licensor.InstanceSearch{IDPrefix: "inst-1234"}, []string{"instances_id"}, true},
		{"Customer", licensor.InstanceSearch{CustomerID: "cus_7"}, []string{"instances_contract_seen", "instances_pkey"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Limit = 100
			q, args, err := store.SearchInstancesQuery(db.Dialect(), ten.ID, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			var setup []string
			if i == 0 {
				setup = seed
			}
			plan, err := db.Plan(ctx, setup, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			t.Logf("plan:\n%s", all)
			found := false
			for _, ix := range tc.index {
				found = found || strings.Contains(all, "using "+ix+" on instances")
			}
			if !found {
				t.Errorf("plan: want an index scan of instances using one of %v", tc.index)
			}
			if strings.Contains(all, "Seq Scan on instances") {
				t.Error("plan: scans instances")
			}
			if !tc.sort && strings.Contains(all, "Sort") {
				t.Error("plan: sorts, want the index's order")
			}
		})
	}
}

// planSeed creates a tenant and returns the statements that give it 100
// contracts and 20,000 instances, one checking in each minute, analyzed.
func planSeed(t *testing.T, db *postgres.DB) (*licensor.Tenant, []string) {
	t.Helper()
	ctx := context.Background()
	ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: licensor.DefaultExpiryWarning}
	if err := db.CreateTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	seed := []string{
		`INSERT INTO products (tenant_id, id, name, created_at) VALUES ('` + ten.ID + `', 'prd_a', 'p', 0)`,
		`INSERT INTO customers (tenant_id, id, name, email, created_at) SELECT '` + ten.ID + `', 'cus_' || g, 'c', '', 0 FROM generate_series(1, 100) g`,
		`INSERT INTO contracts (tenant_id, id, customer_id, product_id, name, status, starts_at, ends_at, license_validity_ns,
			refresh_interval_ns, seat_rule, max_seats, fallback, max_borrow_ns, client_ca_pem, version, created_at, updated_at)
			SELECT '` + ten.ID + `', 'con_' || g, 'cus_' || g, 'prd_a', 'x', 'active', 0, 0, 1, 1, 'instance', 0, 'none', 0, '', 1, 0, 0
			FROM generate_series(1, 100) g`,
		`INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr, first_seen_at, last_seen_at,
			license_id, license_expires_at, clone_suspected_at, telemetry_json, telemetry_at, last_seen_hour, license_expires_hour)
			SELECT '` + ten.ID + `', 'con_' || (g % 100 + 1), 'inst-' || g, true, 'production', 'h', '', 0, g * 60000000::bigint, 'lic', 0, 0,
			'{"product_version":"' || (g % 7) || '.0"}', 0, g * 60000000::bigint / 3600000000, 0 FROM generate_series(1, 20000) g`,
		`ANALYZE`,
	}
	return ten, seed
}
