// Package migrations loads a store's embedded schema migrations and applies
// the pending ones, with the same rules in both SQL stores: files named
// NNNN_words.sql, applied in version order inside the caller's transaction,
// each recorded in schema_migrations; a database whose schema is newer than
// the newest migration this build knows is refused, never touched.
//
// What differs by dialect, the bookkeeping table's DDL and the placeholders
// of its INSERT, comes in a Dialect; the transaction comes in through Tx.
// This package must never hold a store's schema, nor open or commit a
// transaction: the store decides how (SQLite's one writer, PostgreSQL's
// advisory lock).
package migrations

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/licensor/licensor/store"
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

// Dialect is a store's SQL for the bookkeeping of schema_migrations.
type Dialect struct {
	// CreateTable creates schema_migrations (version INTEGER PRIMARY KEY,
	// name TEXT, applied_at Unix microseconds) if it does not exist.
	CreateTable string
	// Insert records one applied migration: version, name, applied_at.
	Insert string
}

// Tx is the transaction the migrations run in, in the store's driver.
type Tx interface {
	// Exec runs one statement (a whole migration file is one).
	Exec(ctx context.Context, query string, args ...any) error
	// Version returns the newest version in schema_migrations, 0 for none.
	Version(ctx context.Context) (int, error)
}

// Run brings the schema in tx to the newest of ms: it creates the
// bookkeeping table if need be, refuses a schema newer than ms know, and
// applies (or, with apply false, refuses) the pending migrations. It
// returns the version it found and the names of the migrations it applied.
// The caller commits tx, or rolls it back on an error.
func Run(ctx context.Context, tx Tx, d Dialect, ms []Migration, apply bool) (from int, applied []string, err error) {
	latest := Latest(ms)
	if err := tx.Exec(ctx, d.CreateTable); err != nil {
		return 0, nil, err
	}
	current, err := tx.Version(ctx)
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
		if err := tx.Exec(ctx, m.SQL); err != nil {
			return current, nil, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if err := tx.Exec(ctx, d.Insert, m.Version, m.Name, store.Micros(time.Now())); err != nil {
			return current, nil, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return current, applied, nil
}
