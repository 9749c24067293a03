package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/datadir"
	"github.com/licensor/licensor/store/postgres"
	"github.com/licensor/licensor/store/sqlite"
)

// isPostgresURL reports whether --db names a PostgreSQL database.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the store --db names: the embedded SQLite file in the
// data directory when it is empty, or a shared PostgreSQL database. It
// returns the change feed WatchLicense streams listen on: nil (the
// service's in-process hub) for SQLite, LISTEN/NOTIFY for PostgreSQL so
// that a change made through any server reaches streams on every server.
//
// durableRefresh is PostgreSQL's WithDurableRefresh; the embedded store has
// no such choice to make (its refreshes are written behind, see
// docs/operations.md), so asking for it there is an error, not a no-op.
func openStore(ctx context.Context, db, dataDir string, durableRefresh bool, log *slog.Logger) (licensor.Store, licensor.ChangeFeed, error) {
	switch {
	case db == "" && durableRefresh:
		return nil, nil, fmt.Errorf("--durable-refresh applies to a PostgreSQL --db only; the embedded store writes refreshes behind (docs/operations.md)")
	case db == "":
		path := filepath.Join(dataDir, "licensor.db")
		if err := datadir.SecureDatabase(path); err != nil {
			return nil, nil, err
		}
		st, err := sqlite.Open(ctx, path, sqlite.WithLogger(log))
		if err != nil {
			return nil, nil, fmt.Errorf("open database: %w", err)
		}
		return st, nil, nil
	case isPostgresURL(db):
		opts := []postgres.Option{postgres.WithLogger(log)}
		if durableRefresh {
			opts = append(opts, postgres.WithDurableRefresh())
		}
		st, err := postgres.Open(ctx, db, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("open database: %w", err)
		}
		return st, st.ChangeFeed(), nil
	default:
		return nil, nil, fmt.Errorf("--db: want a postgres://user:password@host:5432/dbname URL, or nothing for the embedded SQLite store")
	}
}
