package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
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
		st, err := sqlite.Open(ctx, filepath.Join(dataDir, "licensor.db"), sqlite.WithLogger(log))
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

// checkMasterKey refuses to serve from a shared database whose signing keys
// this server's master key cannot open: every server on one database must
// be given the same LICENSOR_MASTER_KEY, or licenses would fail on some of
// them only.
func checkMasterKey(ctx context.Context, st licensor.Store, sealer *signing.Sealer) error {
	pg, ok := st.(*postgres.DB)
	if !ok {
		return nil
	}
	id, sealed, ok, err := pg.SampleSealedKey(ctx)
	if err != nil || !ok {
		return err
	}
	if _, err := sealer.Open(id, sealed); err != nil {
		return fmt.Errorf("the master key does not open the signing keys in this database: every server on one database needs the same LICENSOR_MASTER_KEY")
	}
	return nil
}
