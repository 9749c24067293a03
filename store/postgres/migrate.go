package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/licensor/licensor/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationsTable is PostgreSQL's schema_migrations.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at BIGINT  NOT NULL
)`

// migrationLock starts the migration transaction: servers starting at once
// queue here and the later ones find nothing left to do. The lock is per
// schema, so deployments (and tests) in other schemas of the same database
// do not wait for each other.
const migrationLock = `SELECT pg_advisory_xact_lock(hashtext('licensor.migrate.' || current_schema()))`

// LatestVersion is the schema version this build knows: its newest
// embedded migration.
func LatestVersion() int {
	ms, err := store.Load(migrationFS)
	if err != nil {
		return 0
	}
	return store.Latest(ms)
}

// migrate applies every pending migration (or, with apply false, only
// checks that none is pending), all in one transaction that holds the
// advisory lock for the schema (store.DB.Migrate). A database whose schema
// is newer than the newest migration known is refused.
func (db *DB) migrate(ctx context.Context, apply bool) (from int, applied []string, err error) {
	from, applied, err = db.DB.Migrate(ctx, migrationFS, apply)
	if err != nil {
		return 0, nil, err
	}
	if len(applied) > 0 {
		db.log.Info("schema migrated", "applied", applied, "version", LatestVersion())
	}
	return from, applied, nil
}

// Migrate applies the pending migrations to the database at url and
// returns the schema version it found and the migrations it applied: what
// `licensor migrate` runs ahead of a rolling upgrade. Open does the same;
// Migrate only connects, migrates and disconnects.
func Migrate(ctx context.Context, url string, opts ...Option) (from int, applied []string, err error) {
	db, err := Open(ctx, url, append(opts, withoutMigrateAtOpen())...)
	if err != nil {
		return 0, nil, err
	}
	defer db.Close()
	from, applied, err = db.migrate(ctx, true)
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return from, applied, nil
}
