package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
	"github.com/licensor/licensor/store/storetest"
)

// TestUpgrades runs the data migrations' conformance cases on SQLite.
func TestUpgrades(t *testing.T) {
	storetest.RunUpgrades(t, func(t *testing.T, last int, seed string) (licensor.Store, func(string) error) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "licensor.db")
		raw := migrateRawTo(t, path, last)
		// Foreign keys are off on this raw connection (SQLite's default).
		if _, err := raw.ExecContext(ctx, seed); err != nil {
			t.Fatalf("seed at schema %d: %v", last, err)
		}
		raw.Close()
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open (migrating to the latest schema): got error %v, want none", err)
		}
		t.Cleanup(func() { db.Close() })
		return db, func(q string) error { _, err := db.r.ExecContext(ctx, q); return err }
	})
}

// migrateRawTo applies migrations 1 to last to a new database file at path,
// as a build of that schema would have.
func migrateRawTo(t *testing.T, path string, last int) *sql.DB {
	t.Helper()
	ctx := context.Background()
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
		if m.Version > last {
			break
		}
		if _, err := raw.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}
