// Schema migrations, with the same rules for both engines: files named
// NNNN_words.sql in an engine's migrations folder (the DDL differs),
// applied in version order inside one write transaction, each recorded in
// schema_migrations; a database whose schema is newer than the newest
// migration this build knows is refused, never touched. An engine adds
// only its bookkeeping table's DDL and, where servers may start together,
// a lock taken first (Dialect.MigrationsTable, Dialect.MigrationLock).

package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Migration is one embedded schema change.
type Migration struct {
	Version int    // the number the file name starts with
	Name    string // the file name
	SQL     string
}

var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Load returns the migrations in fsys's migrations/*.sql in version order.
// File names are NNNN_words.sql; versions are unique and start at 1.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []Migration
	seen := map[int]string{}
	for _, p := range names {
		name := p[len("migrations/"):]
		m := fileName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration %s: name must look like 0002_pools.sql", name)
		}
		v, _ := strconv.Atoi(m[1])
		if v == 0 {
			return nil, fmt.Errorf("migration %s: versions start at 0001", name)
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrations %s and %s have the same version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	return ms, nil
}

// Latest is the version of the newest of ms (in Load's order), 0 for none.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Migrate brings the schema to the newest of the migrations in fsys
// (migrations/*.sql), all in one write transaction: it takes the dialect's
// migration lock, creates the bookkeeping table if need be, refuses a
// schema newer than this build knows, and applies (or, with apply false,
// refuses) the pending migrations. It returns the version it found and the
// names of the migrations it applied. Its errors are for the operator's
// terminal and keep their cause.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, apply bool) (from int, applied []string, err error) {
	ms, err := Load(fsys)
	if err != nil {
		return 0, nil, err
	}
	err = db.eng.Write(ctx, "migrate", func(tx Conn) error {
		if db.d.MigrationLock != "" {
			if _, err := tx.Exec(ctx, db.d.MigrationLock); err != nil {
				return err
			}
		}
		var err error
		from, applied, err = runMigrations(ctx, tx, db.d, ms, apply)
		return err
	})
	return from, applied, err
}

// SchemaVersion returns the version of the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, db.eng.ReadUnprepared())
	return v, db.Final("SchemaVersion", err)
}

func schemaVersion(ctx context.Context, c Conn) (int, error) {
	var v sql.NullInt64
	if err := c.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// runMigrations is Migrate's work in tx.
func runMigrations(ctx context.Context, tx Conn, d *Dialect, ms []Migration, apply bool) (from int, applied []string, err error) {
	latest := Latest(ms)
	var exists bool
	if err := tx.QueryRow(ctx, d.MigrationsExist).Scan(&exists); err != nil {
		return 0, nil, err
	}
	if !exists {
		if _, err := tx.Exec(ctx, d.MigrationsTable); err != nil {
			return 0, nil, err
		}
	}
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	if current > latest {
		return current, nil, fmt.Errorf("database schema version %d is newer than this build of licensor knows (%d): run a newer licensor, or restore a backup", current, latest)
	}
	if current < latest && !apply {
		return current, nil, fmt.Errorf("database schema version %d is older than this build needs (%d): run `licensor migrate --db ...` first", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return current, nil, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, Micros(time.Now())); err != nil {
			return current, nil, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return current, applied, nil
}
