package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationDialect is PostgreSQL's schema_migrations.
var migrationDialect = migrations.Dialect{
	CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`,
	Insert: `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
}

// migrationTx runs the migrations in migrate's transaction.
type migrationTx struct{ tx pgx.Tx }

func (m migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.Exec(ctx, query, args...)
	return err
}

func (m migrationTx) Version(ctx context.Context) (int, error) { return schemaVersion(ctx, m.tx) }

// LatestVersion is the schema version this build knows: its newest
// embedded migration.
func LatestVersion() int {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return 0
	}
	return migrations.Latest(ms)
}

// migrate applies every pending migration (or, with apply false, only
// checks that none is pending), all in one transaction that holds an
// advisory lock for the schema: servers starting at once queue here and
// the later ones find nothing left to do. A database whose schema is newer
// than the newest migration known is refused.
func (db *DB) migrate(ctx context.Context, apply bool) (from int, applied []string, err error) {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return 0, nil, err
	}
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// The lock is per schema, so deployments (and tests) in other
		// schemas of the same database do not wait for each other.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('licensor.migrate.' || current_schema()))`); err != nil {
			return err
		}
		var err error
		from, applied, err = migrations.Run(ctx, migrationTx{tx}, migrationDialect, ms, apply)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	if len(applied) > 0 {
		db.log.Info("schema migrated", "applied", applied, "version", migrations.Latest(ms))
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

// SchemaVersion returns the version of the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, db.pool)
	if err != nil {
		return 0, driverErr("SchemaVersion", err)
	}
	return v, nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v *int32
	if err := q.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	return int(*v), nil
}
