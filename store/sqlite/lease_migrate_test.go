package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// Migration 0005 moves each lease's units from lease_units into the lease
// row: a database with leases taken before it keeps them, units and all.
func TestMigrationLeaseUnitsInline(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "licensor.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := store.Load(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version > 4 {
			break
		}
		if _, err := raw.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	// Foreign keys are off on this raw connection (SQLite's default), so
	// the leases need no tenant, contract or pool rows.
	for _, q := range []string{
		`INSERT INTO leases VALUES ('ten_a', 'lea_1', 'pool_1', 'con_1', 'i-1', 0, 1, 1, 2000000000000000)`,
		`INSERT INTO leases VALUES ('ten_a', 'lea_2', 'pool_1', 'con_1', 'i-2', 1, 1, 1, 2000000000000000)`,
		`INSERT INTO lease_units VALUES ('ten_a', 'lea_1', 'solver', 3), ('ten_a', 'lea_1', 'gpu-export', 1), ('ten_a', 'lea_2', 'solver', 2)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open (migrating to the latest schema): got error %v, want none", err)
	}
	defer db.Close()
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
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'lease_units'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("lease_units after the migration: got %d tables, %v; want it dropped", n, err)
	}
}
