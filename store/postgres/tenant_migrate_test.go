package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
)

// Migration 0008 gives each tenant the default ceilings, or its current
// limit and wait where they are higher: no tenant loses what it has.
func TestMigrationTenantCeiling(t *testing.T) {
	ctx := context.Background()
	url, schema := pgtest.Schema(t)
	conn, err := pgx.Connect(ctx, pgtest.SchemaURL(url, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	files, err := filepath.Glob("migrations/000[1-7]_*.sql")
	if err != nil || len(files) != 7 {
		t.Fatalf("migrations 1 to 7: got %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		name := filepath.Base(f)
		v, _ := strconv.Atoi(name[:4])
		exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, v, name)
	}
	exec(`INSERT INTO tenants (id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at)
		VALUES ('ten_small', 'Small', 10, 0, 3600000000000, 0, 0), ('ten_big', 'Big', 500, 3000000000, 3600000000000, 0, 0)`)
	conn.Close(ctx)

	db := pgtest.OpenSchema(t, url, schema)
	for _, tc := range []struct {
		id          string
		ceiling     int
		waitCeiling time.Duration
	}{
		{"ten_small", 60, time.Second},
		{"ten_big", 500, 3 * time.Second},
	} {
		got, err := db.GetTenant(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.ConcurrencyCeiling != tc.ceiling || got.QueueWaitCeiling != tc.waitCeiling {
			t.Errorf("%s: got ceilings %d and %s, want %d and %s", tc.id, got.ConcurrencyCeiling, got.QueueWaitCeiling, tc.ceiling, tc.waitCeiling)
		}
	}
}

// nonProdSeed is a database at schema 8 with a production-URL contract
// holding a seat, two non-production URLs and a released production URL, and
// an instance-seat contract with a released staging instance.
const nonProdSeed = `
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
`

// checkNonProdBackfill checks what migration 0009 made of nonProdSeed: the
// non-production URLs of the production-URL contract hold slots and are
// counted; nothing else does.
func checkNonProdBackfill(t *testing.T, s licensor.Store) {
	t.Helper()
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

// Migration 0009 gives the non-production URLs already recorded their slots.
func TestMigrationNonProductionSlots(t *testing.T) {
	ctx := context.Background()
	url, schema := pgtest.Schema(t)
	conn, err := pgx.Connect(ctx, pgtest.SchemaURL(url, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	files, err := filepath.Glob("migrations/000[1-8]_*.sql")
	if err != nil || len(files) != 8 {
		t.Fatalf("migrations 1 to 8: got %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		name := filepath.Base(f)
		v, _ := strconv.Atoi(name[:4])
		exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, v, name)
	}
	exec(nonProdSeed)
	conn.Close(ctx)
	checkNonProdBackfill(t, pgtest.OpenSchema(t, url, schema))
}
