package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/licensor/licensor/internal/datadir"
	"github.com/licensor/licensor/store/postgres"
	"github.com/licensor/licensor/store/sqlite"
)

// MigrateCmd applies the database migrations of this build, ahead of a
// rolling upgrade: run the new binary's `licensor migrate` once, then
// replace the servers one by one (migrations only add, so the old servers
// keep working on the new schema meanwhile).
type MigrateCmd struct {
	DB   string `help:"Database to migrate: postgres://..., or empty for the SQLite store in --data." env:"LICENSOR_DB"`
	Data string `help:"Data directory of the SQLite store (when --db is empty)." default:"./licensor-data" env:"LICENSOR_DATA" type:"path"`
}

// Run migrates and says what it did in one line.
func (c *MigrateCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	return c.migrate(ctx, os.Stdout)
}

func (c *MigrateCmd) migrate(ctx context.Context, out interface{ Write([]byte) (int, error) }) error {
	switch {
	case c.DB == "":
		path := filepath.Join(c.Data, "licensor.db")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no SQLite database at %s: give --data, or --db with a postgres:// URL", path)
		}
		lock, err := datadir.Acquire(c.Data) // opening applies migrations: never under a running server
		if err != nil {
			return err
		}
		defer lock.Release()
		var ml migrationLog
		st, err := sqlite.Open(ctx, path, sqlite.WithLogger(slog.New(&ml)))
		if err != nil {
			return err
		}
		defer st.Close()
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		if len(ml.applied) == 0 {
			fmt.Fprintf(out, "SQLite database %s is at schema version %d: nothing to apply\n", path, v)
			return nil
		}
		fmt.Fprintf(out, "SQLite database %s migrated to schema version %d: applied %s\n", path, v, strings.Join(ml.applied, ", "))
		return nil
	case isPostgresURL(c.DB):
		from, applied, err := postgres.Migrate(ctx, c.DB)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintf(out, "database is at schema version %d: nothing to apply\n", from)
			return nil
		}
		fmt.Fprintf(out, "database migrated from schema version %d to %d: applied %s\n", from, postgres.LatestVersion(), strings.Join(applied, ", "))
		return nil
	default:
		return fmt.Errorf("--db: want a postgres://user:password@host:5432/dbname URL, or nothing for the SQLite store in --data")
	}
}

// migrationLog is the log of the SQLite store while migrate opens it: the
// store applies its migrations at open and logs their names, which the
// command then prints. Everything else it logs is dropped.
type migrationLog struct{ applied []string }

func (m *migrationLog) Enabled(context.Context, slog.Level) bool { return true }
func (m *migrationLog) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m *migrationLog) WithGroup(string) slog.Handler            { return m }
func (m *migrationLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "schema migrated" {
		r.Attrs(func(a slog.Attr) bool {
			if names, ok := a.Value.Any().([]string); ok && a.Key == "applied" {
				m.applied = append(m.applied, names...)
			}
			return true
		})
	}
	return nil
}
