package postgres_test

import (
	"context"
	neturl "net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
)

// TestYoungInstancesAnalyzed: a new deployment's instances table is
// analyzed once it has grown to twice what its statistics say, and not
// before; with the statistics, a lookup of one instance of a contract of
// thousands no longer scans the contract's range of
// instances_contract_seen.
func TestYoungInstancesAnalyzed(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	cctx, contract := seedContract(t, db, 0)
	tid, _ := licensor.TenantFrom(cctx)
	insert := func(from, to int) {
		t.Helper()
		c, err := db.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		if _, err := c.Exec(ctx, `INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr,
			first_seen_at, last_seen_at, license_id, license_expires_at, clone_suspected_at, last_seen_hour, license_expires_hour)
			SELECT $1, $2, 'i-' || g, true, 'production', '', '', 0, 0, '', 0, 0, 0, 0 FROM generate_series($3::int, $4::int) g`,
			tid, contract, from, to); err != nil {
			t.Fatal(err)
		}
		// Report this connection's counts now, not within the second.
		if _, err := c.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantAnalyzed bool) {
		t.Helper()
		young, analyzed, err := db.AnalyzeIfGrown(ctx)
		if err != nil || !young || analyzed != wantAnalyzed {
			t.Fatalf("young %v, analyzed %v, error %v; want young, analyzed %v", young, analyzed, err, wantAnalyzed)
		}
	}
	insert(1, 500)
	check(false) // fewer than the first threshold
	insert(501, 3000)
	check(true)
	check(false) // not grown since
	var tuples float64
	if err := db.Pool().QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = to_regclass('instances')`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples < 2000 {
		t.Errorf("statistics after the analyze: %v rows, want about 3,000", tuples)
	}
	plan, err := db.Plan(ctx, nil, `SELECT instance_id FROM instances WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, tid, contract, "i-7")
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); strings.Contains(p, "instances_contract_seen") || strings.Contains(p, "Seq Scan") {
		t.Errorf("lookup of one instance, with statistics:\n%s\nwant it by an index that names the instance", p)
	}
}

// TestYoungInstancesNotOwned: a server whose database role does not own
// the instances table (PostgreSQL then skips ANALYZE with a warning)
// stops checking instead of asking again every few seconds.
func TestYoungInstancesNotOwned(t *testing.T) {
	url, schema := pgtest.Schema(t)
	owner := pgtest.OpenSchema(t, url, schema)
	ctx := context.Background()
	cctx, contract := seedContract(t, owner, 0)
	tid, _ := licensor.TenantFrom(cctx)
	if _, err := owner.Pool().Exec(ctx, `INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr,
		first_seen_at, last_seen_at, license_id, license_expires_at, clone_suspected_at, last_seen_hour, license_expires_hour)
		SELECT $1, $2, 'i-' || g, true, 'production', '', '', 0, 0, '', 0, 0, 0, 0 FROM generate_series(1, 3000) g;`, tid, contract); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Pool().Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	other, err := postgres.Open(ctx, rowsOnlyRole(t, owner, url, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	young, analyzed, err := other.AnalyzeIfGrown(ctx)
	if young || analyzed || err != nil {
		t.Errorf("as a role that does not own the table: young %v, analyzed %v, error %v; want it to stop checking, no error", young, analyzed, err)
	}
}

// rowsOnlyRole creates a role that may read and write the rows of
// schema's tables but not create or alter any, dropped when the test
// ends, and returns a URL that connects as it to schema.
func rowsOnlyRole(t *testing.T, owner *postgres.DB, url, schema string) string {
	t.Helper()
	ctx := context.Background()
	role := "licensor_test_" + strings.TrimPrefix(schema, "licensor_test_") + "_rows"
	id, sch := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
	for _, q := range []string{
		`CREATE ROLE ` + id + ` LOGIN`,
		`GRANT USAGE ON SCHEMA ` + sch + ` TO ` + id,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + sch + ` TO ` + id,
		`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + sch + ` TO ` + id,
	} {
		if _, err := owner.Pool().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = owner.Pool().Exec(context.Background(), `DROP OWNED BY `+id)
		_, _ = owner.Pool().Exec(context.Background(), `DROP ROLE `+id)
	})
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	return pgtest.SchemaURL(u.String(), schema)
}
