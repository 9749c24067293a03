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
	"github.com/licensor/licensor/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ licensor.Store = (*DB)(nil)

// Defaults of the options.
const (
	DefaultCheckpointInterval = 250 * time.Millisecond
	// idleTruncateAfter is how long the writer must have been idle before
	// the checkpointer truncates the WAL file to zero bytes.
	idleTruncateAfter = 2 * time.Second
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
	*store.DB // the statements, shared with store/postgres

	w    *sql.DB     // the writer: exactly one connection
	r    *sql.DB     // the readers: query_only connections
	ck   *sql.DB     // the checkpointer: one connection beside the writer
	rd   *stmtReader // reads through statements prepared on r
	ws   writeStmts  // hot statements prepared on w
	log  *slog.Logger
	now  func() time.Time
	path string

	commits atomic.Uint64 // committed write transactions, for the checkpointer
	batch   *batcher      // group commit of check-ins (groupcommit.go)
	wb      *writeBehind  // queued refreshes (writebehind.go)
	wc      writeCache    // statements prepared on first sight (wtx.go)

	// testHookBetweenCheckpoints, if set, runs between the two steps of
	// checkpointBusy.
	testHookBetweenCheckpoints func()

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
	db.DB = store.New((*engine)(db), dialect, o.now)

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
	ck, err := sql.Open("sqlite", path+"?"+checkpointerParams())
	if err == nil {
		ck.SetMaxOpenConns(1)
		ck.SetMaxIdleConns(1)
		ck.SetConnMaxLifetime(0)
		ck.SetConnMaxIdleTime(0)
		if err = ck.PingContext(ctx); err != nil {
			ck.Close()
		}
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
	}
	db.ck = ck
	if err := db.ws.prepare(ctx, w); err != nil {
		ck.Close()
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

// checkpointerParams are the DSN parameters of the checkpoint connection:
// a writable connection (a checkpoint writes pages into the database file)
// that never opens a transaction of its own. synchronous(NORMAL) makes a
// checkpoint sync the WAL before it copies and the database after.
func checkpointerParams() string {
	v := url.Values{}
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	v.Add("_pragma", "synchronous(NORMAL)")
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
		db.closeErr = errors.Join(flushErr, db.ck.Close(), db.r.Close(), db.w.Close())
	})
	return db.closeErr
}

// checkpointLoop keeps the WAL short: a checkpoint after each interval
// with writes (checkpointBusy), and a TRUNCATE once the writer has been idle
// for idleTruncateAfter, which resets the WAL file to zero bytes. The
// TRUNCATE must hold the write lock, so it runs on the writer connection:
// a write arriving then waits for the connection instead of spinning in
// SQLite's busy handler.
func (db *DB) checkpointLoop(ctx context.Context, every time.Duration) {
	defer close(db.done)
	t := time.NewTicker(every)
	defer t.Stop()
	idleTicks := max(1, int(idleTruncateAfter/every))
	var seen, truncated uint64
	idle := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := db.commits.Load()
		var err error
		switch {
		case n != seen:
			seen, idle = n, 0
			err = db.checkpointBusy(ctx)
		case n != truncated:
			if idle++; idle < idleTicks {
				continue
			}
			var busy bool
			if busy, err = db.checkpoint(ctx, db.w, "TRUNCATE", every); err == nil && !busy {
				truncated = n
			}
		default:
			continue // idle and already truncated
		}
		if err != nil && ctx.Err() == nil {
			db.log.Warn("wal checkpoint failed", "err", err)
		}
	}
}

// checkpointBusy checkpoints a WAL that is being written, in two steps.
//
// The first, PASSIVE on a connection of its own, copies the bulk of the
// WAL into the database while the writer goes on: it takes no write lock
// and never waits for readers. Under capability load a second's WAL was
// 5,000-8,000 frames, 40-65 ms to copy and sync, and on the writer
// connection that stalled every write queued behind it.
//
// The second runs on the writer connection and copies only what was
// written during the first (a few hundred frames, ~7 ms with its syncs).
// As nothing is appended meanwhile, it leaves the WAL wholly copied, so
// the next write starts the WAL again from the beginning. Without it the
// WAL is never caught up under steady writes, grows to SQLite's own
// backstop (wal_autocheckpoint), and commits stalled for ~70 ms every
// half second (p99 105 ms at 2,000 capability cycles/s open loop; with
// both steps every 250 ms, 25 ms).
func (db *DB) checkpointBusy(ctx context.Context) error {
	if _, err := db.checkpoint(ctx, db.ck, "PASSIVE", 0); err != nil {
		return err
	}
	if db.testHookBetweenCheckpoints != nil {
		db.testHookBetweenCheckpoints()
	}
	_, err := db.checkpoint(ctx, db.w, "PASSIVE", 0)
	return err
}

// checkpoint runs one checkpoint on conn and reports whether readers kept
// it from completing. limit bounds only a TRUNCATE's wait for readers.
func (db *DB) checkpoint(ctx context.Context, conn *sql.DB, mode string, limit time.Duration) (busy bool, err error) {
	if mode == "TRUNCATE" {
		// TRUNCATE waits (busy handler) for readers to leave the WAL;
		// bound the wait so the writer is never held for long. A PASSIVE
		// checkpoint waits for nobody: cutting it short would only throw
		// its copying away and leave a longer WAL for the next one.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	var blocked, logFrames, done int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&blocked, &logFrames, &done)
	if err != nil {
		return false, fmt.Errorf("%s checkpoint: %w", mode, err)
	}
	db.log.Debug("wal checkpoint", "mode", mode, "busy", blocked == 1, "wal_frames", logFrames, "checkpointed", done)
	return blocked == 1, nil
}
