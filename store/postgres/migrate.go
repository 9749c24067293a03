package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema change.
type migration struct {
	version int    // the number the file name starts with
	name    string // the file name
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// loadMigrations returns the embedded migrations in version order. File
// names are NNNN_words.sql; versions are unique and start at 1.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []migration
	seen := map[int]string{}
	for _, p := range names {
		name := p[len("migrations/"):]
		m := migrationName.FindStringSubmatch(name)
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
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// LatestVersion is the schema version this build knows: its newest
// embedded migration.
func LatestVersion() int {
	ms, err := loadMigrations(migrationFS)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies every pending migration (or, with apply false, only
// checks that none is pending), all in one transaction that holds an
// advisory lock for the schema: servers starting at once queue here and
// the later ones find nothing left to do. A database whose schema is newer
// than the newest migration known is refused.
func (db *DB) migrate(ctx context.Context, apply bool) (from int, applied []string, err error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, nil, err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// The lock is per schema, so deployments (and tests) in other
		// schemas of the same database do not wait for each other.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('licensor.migrate.' || current_schema()))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at BIGINT  NOT NULL
		)`); err != nil {
			return err
		}
		current, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		from, applied = current, nil
		if current > latest {
			return fmt.Errorf("database schema version %d is newer than this build of licensor knows (%d): run a newer licensor, or restore a backup", current, latest)
		}
		if current < latest && !apply {
			return fmt.Errorf("database schema version %d is older than this build needs (%d): run `licensor migrate --db ...` first", current, latest)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, micros(time.Now())); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	if len(applied) > 0 {
		db.log.Info("schema migrated", "applied", applied, "version", latest)
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
