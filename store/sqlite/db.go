package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ licensor.Store = (*DB)(nil)

// Defaults of the options.
const (
	DefaultCheckpointInterval = time.Second
	// walAutoCheckpointPages is SQLite's own checkpoint at commit, kept only as
	// a backstop (≈32 MiB with 4 KiB pages) should the scheduled checkpoint
	// fall behind; normally the WAL never gets that long.
	walAutoCheckpointPages = 8192
	// journalSizeLimit bounds the WAL file left on disk after a reset.
	journalSizeLimit  = 64 << 20
	busyTimeoutMillis = 10000
)

// DB is the SQLite store. It is safe for concurrent use.
type DB struct {
	w    *sql.DB     // the writer: exactly one connection
	r    *sql.DB     // the readers: query_only connections
	rd   *stmtReader // reads through statements prepared on r
	ws   writeStmts  // hot statements prepared on w
	log  *slog.Logger
	now  func() time.Time
	path string

	commits atomic.Uint64 // committed write transactions, for the checkpointer
	batch   *batcher      // group commit of check-ins (groupcommit.go)
	wb      *writeBehind  // queued refreshes (writebehind.go)
	wc      writeCache    // statements prepared on first sight (wtx.go)

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type options struct {
	logger             *slog.Logger
	readConns          int
	checkpointInterval time.Duration
	flushInterval      time.Duration
	now                func() time.Time
}

// Option configures Open.
type Option func(*options)

// WithLogger sets the logger (scoped with component=store/sqlite). The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithReadConns sets the size of the reader pool (default: max(4, GOMAXPROCS)).
func WithReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// WithCheckpointInterval sets how often the writer checkpoints the WAL
// (default DefaultCheckpointInterval). A negative interval disables the
// scheduled checkpoints, leaving only SQLite's backstop.
func WithCheckpointInterval(d time.Duration) Option {
	return func(o *options) { o.checkpointInterval = d }
}

// WithFlushInterval sets how long a refresh of an instance that keeps its
// seat may wait before it is written (default DefaultFlushInterval; see
// writebehind.go). Zero or negative writes every check-in before it answers.
func WithFlushInterval(d time.Duration) Option {
	return func(o *options) { o.flushInterval = d }
}

// WithClock sets the clock the store uses where a caller gave no time (a
// zero CreatedAt, say) and to decide whether a token has expired.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens (creating if needed) the database file at path, applies the
// pending migrations and starts the checkpointer. It refuses a database
// whose schema is newer than this build knows.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	o := options{
		readConns:          max(4, runtime.GOMAXPROCS(0)),
		checkpointInterval: DefaultCheckpointInterval,
		flushInterval:      DefaultFlushInterval,
		now:                time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.readConns < 1 {
		o.readConns = 1
	}
	if path == "" {
		return nil, errors.New("sqlite: open: no database path")
	}
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		// The driver splits the DSN at '?'; and an in-memory database
		// cannot be shared between the writer and the readers.
		return nil, fmt.Errorf("sqlite: open %q: the path must be a plain file path without '?' or '#'", path)
	}

	db := &DB{
		log:  o.logger.With("component", "store/sqlite"),
		now:  o.now,
		path: path,
	}

	w, err := sql.Open("sqlite", path+"?"+writerParams())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.w = w
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if mode != "wal" {
		// A file system without shared memory (some network mounts) keeps
		// the rollback journal: still correct, but readers block the writer.
		db.log.Warn("database is not in WAL mode; reads will block writes", "path", path, "journal_mode", mode)
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}

	// The readers open after the writer has switched the file to WAL, which
	// is persistent, so they never need to change the journal mode.
	r, err := sql.Open("sqlite", path+"?"+readerParams())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(o.readConns)
	r.SetMaxIdleConns(o.readConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	db.r = r
	db.rd = &stmtReader{db: r}
	if err := db.ws.prepare(ctx, w); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	db.startBatcher()
	db.startWriteBehind(o.flushInterval)
	cctx, cancel := context.WithCancel(context.Background())
	db.stop = cancel
	db.done = make(chan struct{})
	if o.checkpointInterval > 0 {
		go db.checkpointLoop(cctx, o.checkpointInterval)
	} else {
		close(db.done)
	}
	return db, nil
}

// writerParams are the DSN parameters of the writer connection. The driver
// runs each _pragma on every new connection (busy_timeout first).
func writerParams() string {
	v := url.Values{}
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", journalSizeLimit))
	v.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutoCheckpointPages))
	v.Add("_pragma", "temp_store(MEMORY)")
	// BEGIN IMMEDIATE: a write transaction takes the write lock when it
	// starts, so it can never fail to upgrade a read lock half-way through
	// (SQLITE_BUSY_SNAPSHOT) if another process shares the file.
	v.Set("_txlock", "immediate")
	return v.Encode()
}

// readerParams are the DSN parameters of the reader pool.
func readerParams() string {
	v := url.Values{}
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", "query_only(1)")
	return v.Encode()
}

// write runs fn in one write transaction on the writer connection and
// commits it. Every write of the store goes through here or through
// writeBatched (group commit, for the check-ins of GetLicense). fn's *licensor.Error passes through; any
// other error becomes licensor.Internal(op, err).
func (db *DB) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	db.wc.prepare(db.w)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return driverErr(op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return driverErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return driverErr(op, err)
	}
	db.commits.Add(1)
	return nil
}

// Ping checks that both pools can reach the database.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return licensor.Internal("Ping", err)
	}
	if err := db.w.PingContext(ctx); err != nil {
		return licensor.Internal("Ping", err)
	}
	return nil
}

// Close stops the checkpointer and closes the readers, then the writer (the
// last connection to close checkpoints the WAL and removes it).
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		flushErr := db.stopWriteBehind()
		db.stopBatcher()
		db.stop()
		<-db.done
		db.rd.close()
		db.ws.close()
		db.wc.close()
		db.closeErr = errors.Join(flushErr, db.r.Close(), db.w.Close())
	})
	return db.closeErr
}

// checkpointLoop keeps the WAL short: a PASSIVE checkpoint after each
// interval with writes (it never waits for readers or blocks them), and a
// TRUNCATE once the writer has been idle for a whole interval, which resets
// the WAL file to zero bytes. It runs on the writer connection, so it
// never races a write for the lock, and a request's commit never pays for it.
func (db *DB) checkpointLoop(ctx context.Context, every time.Duration) {
	defer close(db.done)
	t := time.NewTicker(every)
	defer t.Stop()
	var seen, truncated uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := db.commits.Load()
		mode := "PASSIVE"
		switch {
		case n != seen:
			seen = n
		case n != truncated:
			mode = "TRUNCATE"
		default:
			continue // idle and already truncated
		}
		busy, err := db.checkpoint(ctx, mode, every)
		if err != nil {
			if ctx.Err() == nil {
				db.log.Warn("wal checkpoint failed", "mode", mode, "err", err)
			}
			continue
		}
		if mode == "TRUNCATE" && !busy {
			truncated = n
		}
	}
}

// checkpoint runs one checkpoint and reports whether readers kept it from
// completing.
func (db *DB) checkpoint(ctx context.Context, mode string, limit time.Duration) (busy bool, err error) {
	// TRUNCATE waits (busy handler) for readers to leave the WAL; bound the
	// wait so the writer is never held for long.
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var blocked, logFrames, done int
	err = db.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&blocked, &logFrames, &done)
	if err != nil {
		return false, err
	}
	db.log.Debug("wal checkpoint", "mode", mode, "busy", blocked == 1, "wal_frames", logFrames, "checkpointed", done)
	return blocked == 1, nil
}
