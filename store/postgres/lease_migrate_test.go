package postgres_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
)

// Migration 0005 moves each lease's units from lease_units into the lease
// row: a database with leases taken before it keeps them, units and all.
func TestMigrationLeaseUnitsInline(t *testing.T) {
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
	files, err := filepath.Glob("migrations/000[1-4]_*.sql")
	if err != nil || len(files) != 4 {
		t.Fatalf("migrations 1 to 4: got %v, %v", files, err)
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
	// Without foreign key triggers, the leases need no tenant, contract or
	// pool rows.
	exec(`SET session_replication_role = replica`)
	exec(`INSERT INTO leases VALUES ('ten_a', 'lea_1', 'pool_1', 'con_1', 'i-1', false, 1, 1, 2000000000000000),
		('ten_a', 'lea_2', 'pool_1', 'con_1', 'i-2', true, 1, 1, 2000000000000000)`)
	exec(`INSERT INTO lease_units VALUES ('ten_a', 'lea_1', 'solver', 3), ('ten_a', 'lea_1', 'gpu-export', 1), ('ten_a', 'lea_2', 'solver', 2)`)
	conn.Close(ctx)

	db := pgtest.OpenSchema(t, url, schema)
	tctx := licensor.WithTenant(ctx, "ten_a")
	for id, want := range map[string]string{"lea_1": "[{gpu-export 1} {solver 3}]", "lea_2": "[{solver 2}]"} {
		l, err := db.GetLease(tctx, id)
		if err != nil {
			t.Fatalf("GetLease %s: %v", id, err)
		}
		if got := fmt.Sprint(l.Units); got != want {
			t.Errorf("units of %s: got %s, want %s", id, got, want)
		}
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'lease_units'`, schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("lease_units after the migration: got %d tables, %v; want it dropped", n, err)
	}
}
