package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationsTable is SQLite's schema_migrations.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`

// migrate applies every pending migration, all in one transaction of the
// writer (store.DB.Migrate), and refuses a database whose schema is newer
// than the newest migration known. Because of that transaction a migration
// cannot change PRAGMA foreign_keys or VACUUM; to change a table, create
// the new one, copy, drop and rename (SQLite's "12 steps", with foreign
// keys left on).
func (db *DB) migrate(ctx context.Context) error {
	_, applied, err := db.DB.Migrate(ctx, migrationFS, true)
	if err != nil {
		// Open's errors are for the operator's terminal: keep the cause.
		var e *licensor.Error
		if errors.As(err, &e) && e.Code == licensor.EINTERNAL && e.Err != nil {
			err = e.Err
		}
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	if len(applied) > 0 {
		ms, _ := store.Load(migrationFS)
		db.log.Info("schema migrated", "applied", applied, "version", store.Latest(ms))
	}
	return nil
}
