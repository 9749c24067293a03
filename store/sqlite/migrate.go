package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationDialect is SQLite's schema_migrations.
var migrationDialect = migrations.Dialect{
	CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`,
	Insert: `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
}

// migrationTx runs the migrations in the writer's transaction.
type migrationTx struct{ tx *sql.Tx }

func (m migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.ExecContext(ctx, query, args...)
	return err
}

func (m migrationTx) Version(ctx context.Context) (int, error) { return schemaVersion(ctx, m.tx) }

// migrate applies every pending migration, all in one transaction, and
// refuses a database whose schema is newer than the newest migration known.
// Because of that transaction a migration cannot change PRAGMA foreign_keys
// or VACUUM; to change a table, create the new one, copy, drop and rename
// (SQLite's "12 steps", with foreign keys left on).
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	var applied []string
	err = db.write(ctx, "migrate", func(tx *sql.Tx) error {
		var err error
		_, applied, err = migrations.Run(ctx, migrationTx{tx}, migrationDialect, ms, true)
		return err
	})
	if err != nil {
		// Open's errors are for the operator's terminal: keep the cause.
		if e := unwrapInternal(err); e != nil {
			err = e
		}
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	if len(applied) > 0 {
		db.log.Info("schema migrated", "applied", applied, "version", migrations.Latest(ms))
	}
	return nil
}

// SchemaVersion returns the version of the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, db.r)
	if err != nil {
		return 0, driverErr("SchemaVersion", err)
	}
	return v, nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// unwrapInternal returns the cause of an EINTERNAL error, or nil.
func unwrapInternal(err error) error {
	var e *licensor.Error
	if errors.As(err, &e) && e.Code == licensor.EINTERNAL && e.Err != nil {
		return e.Err
	}
	return nil
}
