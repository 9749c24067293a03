package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
