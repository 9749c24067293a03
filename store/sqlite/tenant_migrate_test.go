package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensor/licensor/store"
)

// Migration 0008 gives each tenant the default ceilings, or its current
// limit and wait where they are higher: no tenant loses what it has.
func TestMigrationTenantCeiling(t *testing.T) {
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
		if m.Version > 7 {
			break
		}
		if _, err := raw.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO tenants (id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at)
		VALUES ('ten_small', 'Small', 10, 0, 3600000000000, 0, 0), ('ten_big', 'Big', 500, 3000000000, 3600000000000, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open (migrating to the latest schema): got error %v, want none", err)
	}
	defer db.Close()
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
