package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// Upgrade makes a database at schema version last (its migrations applied
// by hand, as an older build left it), runs seed on it with foreign keys
// not enforced, then opens it through the store, which applies the
// remaining migrations. exec runs a statement on the upgraded database
// outside the store. Each engine's tests give one.
type Upgrade func(t *testing.T, last int, seed string) (s licensor.Store, exec func(q string) error)

// RunUpgrades checks what each data migration makes of rows written before
// it, on any engine: the migrations differ in DDL, never in what they keep.
func RunUpgrades(t *testing.T, up Upgrade) {
	t.Run("LeaseUnitsInline", func(t *testing.T) { testUpgradeLeaseUnits(t, up) })
	t.Run("TenantCeiling", func(t *testing.T) { testUpgradeTenantCeiling(t, up) })
	t.Run("NonProductionSlots", func(t *testing.T) { testUpgradeNonProductionSlots(t, up) })
	t.Run("InstanceHours", func(t *testing.T) { testUpgradeInstanceHours(t, up) })
}

// Migration 0005 moves each lease's units from lease_units into the lease
// row: a database with leases taken before it keeps them, units and all.
func testUpgradeLeaseUnits(t *testing.T, up Upgrade) {
	s, exec := up(t, 4, `
INSERT INTO leases VALUES ('ten_a', 'lea_1', 'pool_1', 'con_1', 'i-1', FALSE, 1, 1, 2000000000000000),
	('ten_a', 'lea_2', 'pool_1', 'con_1', 'i-2', TRUE, 1, 1, 2000000000000000);
INSERT INTO lease_units VALUES ('ten_a', 'lea_1', 'solver', 3), ('ten_a', 'lea_1', 'gpu-export', 1), ('ten_a', 'lea_2', 'solver', 2);
`)
	ctx := licensor.WithTenant(context.Background(), "ten_a")
	for id, want := range map[string]string{"lea_1": "[{gpu-export 1} {solver 3}]", "lea_2": "[{solver 2}]"} {
		l, err := s.GetLease(ctx, id)
		if err != nil {
			t.Fatalf("GetLease %s: %v", id, err)
		}
		if got := fmt.Sprint(l.Units); got != want {
			t.Errorf("units of %s: got %s, want %s", id, got, want)
		}
	}
	if err := exec(`SELECT count(*) FROM lease_units`); err == nil {
		t.Error("lease_units after the migration: still there, want it dropped")
	}
}

// Migration 0008 gives each tenant the default ceilings, or its current
// limit and wait where they are higher: no tenant loses what it has.
func testUpgradeTenantCeiling(t *testing.T, up Upgrade) {
	s, _ := up(t, 7, `INSERT INTO tenants (id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at)
	VALUES ('ten_small', 'Small', 10, 0, 3600000000000, 0, 0), ('ten_big', 'Big', 500, 3000000000, 3600000000000, 0, 0)`)
	for _, tc := range []struct {
		id          string
		ceiling     int
		waitCeiling time.Duration
	}{
		{"ten_small", 60, time.Second},
		{"ten_big", 500, 3 * time.Second},
	} {
		got, err := s.GetTenant(context.Background(), tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.ConcurrencyCeiling != tc.ceiling || got.QueueWaitCeiling != tc.waitCeiling {
			t.Errorf("%s: got ceilings %d and %s, want %d and %s", tc.id, got.ConcurrencyCeiling, got.QueueWaitCeiling, tc.ceiling, tc.waitCeiling)
		}
	}
}

// Migration 0009 gives the non-production URLs already recorded their
// slots: from a production-URL contract holding a seat, two non-production
// URLs and a released production URL, and an instance-seat contract with a
// released staging instance, only the two non-production URLs hold slots
// and are counted.
func testUpgradeNonProductionSlots(t *testing.T, up Upgrade) {
	s, _ := up(t, 8, `
INSERT INTO tenants (id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at)
	VALUES ('ten_a', 'A', 60, 0, 3600000000000, 0, 0);
INSERT INTO products (tenant_id, id, name, created_at) VALUES ('ten_a', 'prd_a', 'P', 0);
INSERT INTO customers (tenant_id, id, name, email, created_at) VALUES ('ten_a', 'cus_a', 'C', '', 0);
INSERT INTO contracts (tenant_id, id, customer_id, product_id, name, status, starts_at, ends_at, license_validity_ns,
	refresh_interval_ns, seat_rule, max_seats, seats_used, fallback, max_borrow_ns, client_ca_pem, version, created_at, updated_at)
	VALUES ('ten_a', 'con_url', 'cus_a', 'prd_a', '', 'active', 0, 0, 1209600000000000, 7200000000000, 'production_url', 5, 1, 'none', 604800000000000, '', 1, 0, 0),
	       ('ten_a', 'con_ins', 'cus_a', 'prd_a', '', 'active', 0, 0, 1209600000000000, 7200000000000, 'instance', 5, 0, 'none', 604800000000000, '', 1, 0, 0);
INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr, first_seen_at, last_seen_at,
	license_id, license_expires_at, clone_suspected_at)
	VALUES ('ten_a', 'con_url', 'https://www.example', TRUE, 'production', '', '', 0, 0, '', 0, 0),
	       ('ten_a', 'con_url', 'https://staging.example', FALSE, 'staging', '', '', 0, 0, '', 0, 0),
	       ('ten_a', 'con_url', 'http://localhost:3000', FALSE, 'development', '', '', 0, 0, '', 0, 0),
	       ('ten_a', 'con_url', 'https://old.example', FALSE, 'production', '', '', 0, 0, '', 0, 0),
	       ('ten_a', 'con_ins', 'node-1', FALSE, 'staging', '', '', 0, 0, '', 0, 0);
`)
	ctx := licensor.WithTenant(context.Background(), "ten_a")
	for id, want := range map[string]int{"con_url": 2, "con_ins": 0} {
		c, err := s.GetContract(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.NonProductionURLsUsed != want || c.MaxNonProductionURLs != 0 {
			t.Errorf("%s: got %d non-production URLs used of %d, want %d of 0 (unlimited)", id, c.NonProductionURLsUsed, c.MaxNonProductionURLs, want)
		}
	}
	for _, tc := range []struct {
		contract, id string
		slot         bool
	}{
		{"con_url", "https://www.example", false},
		{"con_url", "https://staging.example", true},
		{"con_url", "http://localhost:3000", true},
		{"con_url", "https://old.example", false},
		{"con_ins", "node-1", false},
	} {
		i, err := s.GetInstance(ctx, tc.contract, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if i.NonProductionSlot != tc.slot {
			t.Errorf("%s NonProductionSlot: got %v, want %v", tc.id, i.NonProductionSlot, tc.slot)
		}
	}
}
