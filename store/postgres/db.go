package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

var _ licensor.Store = (*DB)(nil)

// maxTxAttempts bounds how often a transaction that lost a race
// (serialization failure, deadlock, a concurrent insert of the same row)
// runs again before the caller is told to retry.
const maxTxAttempts = 5

// DB is the PostgreSQL store. It is safe for concurrent use, by many
// goroutines and by many processes on the same database.
type DB struct {
	*store.DB // the statements, shared with store/sqlite

	pool *pgxpool.Pool
	conn *conn          // pool as store.Conn
	rb   store.Rebinder // the shared statements' $N spelling, cached
	// relaxed runs the writes that may be lost in a database crash without
	// harm (a license refresh that changes no seat: its last-seen time and
	// license id): its connections do not wait for the WAL flush
	// (synchronous_commit=off), which is what bounds a refresh's latency.
	// Seats, units, contracts and keys never go through it.
	relaxed *pgxpool.Pool
	rconn   *conn // relaxed as store.Conn
	// refreshes runs refreshes on relaxed, combined (refresh.go).
	refreshes refresher
	// groups groups the grants and returns of a pool (lease_group.go).
	groups opGroups
	// lockWaits totals what batched transactions waited for their pool's
	// or contract's lock (lock_wait.go).
	lockWaits lockWaits
	// async runs capability requests and returns (lease.go): its
	// connections commit without waiting for the WAL flush, so that a hot
	// pool's lock is not held through it, and the caller then waits for
	// the flush outside the lock. It is relaxed where refreshes are not
	// durable.
	async  *pgxpool.Pool
	log    *slog.Logger
	now    func() time.Time
	schema string // the deployment's schema, "" for the default search_path

	feedOnce sync.Once
	feed     *Feed

	// The background work (young.go), stopped by Close.
	stopBackground context.CancelFunc
	background     sync.WaitGroup

	closeOnce sync.Once
}

type options struct {
	logger   *slog.Logger
	now      func() time.Time
	schema   string
	maxConns int32
	migrate  bool
	skip     bool // Migrate migrates by itself
	durable  bool // refreshes wait for the WAL flush too
}

// WithDurableRefresh makes license refreshes wait for the WAL flush like
// every other write. By default they do not (synchronous_commit=off for
// that statement's connections): a PostgreSQL crash may then forget the
// last fraction of a second of refreshes (last-seen times, license ids),
// never a seat, a unit or a contract change, and GetLicense's throughput
// roughly doubles where the flush is slow.
func WithDurableRefresh() Option { return func(o *options) { o.durable = true } }

func withoutMigrateAtOpen() Option { return func(o *options) { o.skip = true } }

// Option configures Open.
type Option func(*options)

// WithLogger sets the logger (scoped with component=store/postgres). The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock the store uses where a caller gave no time (a
// zero CreatedAt, say) and to decide whether a token has expired.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSchema keeps Licensor's tables in the named schema (created if
// missing) instead of the connection's default search_path: several
// deployments, or parallel tests, can then share one database.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithMaxConns sets the size of the connection pool (default: pgxpool's,
// max(4, GOMAXPROCS), or pool_max_conns in the URL).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// WithoutMigrate opens a database without applying pending migrations: Open
// then fails unless the schema is exactly the one this build knows.
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// Open connects to the database at url (postgres://user:pass@host/db?...),
// applies the pending migrations and returns the store. It refuses a
// database whose schema is newer than this build knows.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	o := options{now: time.Now, migrate: true}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("postgres: the database URL does not parse: it should look like postgres://user:password@host:5432/dbname?sslmode=require")
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = o.schema
	}
	feedSchema := o.schema
	if feedSchema == "" {
		// search_path=... in the URL: the deployment's schema, for the
		// change feed's channel.
		feedSchema = cfg.ConnConfig.RuntimeParams["search_path"]
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %w", redact(cfg), err)
	}
	db := &DB{pool: pool, log: o.logger.With("component", "store/postgres"), now: o.now, schema: feedSchema}
	db.conn = &conn{q: pool, rb: &db.rb}
	db.DB = store.New((*engine)(db), dialect, o.now)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", redact(cfg), err)
	}
	if o.schema != "" {
		if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{o.schema}.Sanitize()); err != nil && !exists42P06(err) {
			pool.Close()
			return nil, fmt.Errorf("postgres: create schema %s: %w", o.schema, err)
		}
	}
	if !o.skip {
		if _, _, err := db.migrate(ctx, o.migrate); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: open %s: %w", redact(cfg), err)
		}
	}
	rcfg := cfg.Copy()
	rcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	rcfg.MinConns = 0
	if db.async, err = pgxpool.NewWithConfig(ctx, rcfg); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", redact(cfg), err)
	}
	db.relaxed = db.async
	if o.durable {
		db.relaxed = pool
	}
	db.rconn = &conn{q: db.relaxed, rb: &db.rb}
	db.refreshes = refresher{pool: db.relaxed, conn: db.rconn, minRows: 2}
	bg, stop := context.WithCancel(context.Background())
	db.stopBackground = stop
	db.background.Go(func() { db.watchYoung(bg) })
	return db, nil
}

// exists42P06 reports a lost race of CREATE SCHEMA IF NOT EXISTS between two
// servers (it is not atomic): the schema exists, which is what was wanted.
func exists42P06(err error) bool {
	pe := pgError(err)
	return pe != nil && (pe.Code == "42P06" || pe.Code == codeUniqueViolation)
}

// redact names the database without its password, for error messages.
func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// tx runs fn in one transaction and commits it, running it again (up to
// maxTxAttempts) when it lost a race that a second run can win. fn's
// *licensor.Error passes through; any other error becomes EUNAVAILABLE or
// licensor.Internal(op, err).
func (db *DB) tx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxTxAttempts {
		err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{}, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return driverErr(op, err)
}

// Pool returns the connection pool, for callers that need the database
// itself (the change feed, the cluster tests).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// SampleSealedKey returns one tenant signing key (any tenant's, the newest)
// so that a server can check at start that its master key opens the keys
// in this database: every server on one database must share one master
// key. ok is false when there are no keys yet.
func (db *DB) SampleSealedKey(ctx context.Context) (keyID string, sealed []byte, ok bool, err error) {
	err = db.pool.QueryRow(ctx, `SELECT id, sealed FROM signing_keys ORDER BY created_at DESC LIMIT 1`).Scan(&keyID, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, driverErr("SampleSealedKey", err)
	}
	return keyID, sealed, true, nil
}

// Ping checks that the database is reachable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return driverErr("Ping", err)
	}
	return nil
}

// Close stops the change feed (if started) and closes the pool.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.stopBackground()
		db.background.Wait()
		if db.feed != nil {
			db.feed.close()
		}
		db.async.Close()
		db.pool.Close()
	})
	return nil
}
