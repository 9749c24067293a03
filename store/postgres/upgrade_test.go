package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/storetest"
)

// TestUpgrades runs the data migrations' conformance cases on PostgreSQL,
// each in a schema of its own.
func TestUpgrades(t *testing.T) {
	pgtest.URL(t)
	storetest.RunUpgrades(t, func(t *testing.T, last int, seed string) (licensor.Store, func(string) error) {
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
		files, err := filepath.Glob("migrations/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name := filepath.Base(f)
			v, err := strconv.Atoi(name[:4])
			if err != nil {
				t.Fatalf("migration file %s: %v", name, err)
			}
			if v > last {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			exec(string(b))
			exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, v, name)
		}
		// Without foreign key triggers, the seed needs only the rows it
		// is about.
		exec(`SET session_replication_role = replica`)
		exec(seed)
		db := pgtest.OpenSchema(t, url, schema)
		return db, func(q string) error {
			_, err := db.Pool().Exec(ctx, q)
			return err
		}
	})
}
