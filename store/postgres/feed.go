package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/licensor/licensor"
)

// Feed is the cluster-wide licensor.ChangeFeed: Publish sends a NOTIFY on
// the database, and one dedicated LISTEN connection per server fans each
// notification out to the local subscribers, so a contract changed through
// any server wakes the WatchLicense streams held on every server.
//
// Delivery is "at least once, coalesced": a subscriber's channel holds at
// most one pending signal, and whenever the listening connection is
// (re)established every subscriber is signalled once, because a change may
// have been announced while this server was not listening. A spurious
// signal costs a watcher one re-read of its contract; a missed one would
// leave a stale license on a customer's machine for hours.
type Feed struct {
	pool    *pgxpool.Pool
	channel string
	log     *slog.Logger

	mu   sync.Mutex
	subs map[string]map[*feedSub]struct{}

	pingEvery time.Duration
	sessions  atomic.Int64 // successful LISTENs, for tests
	pings     atomic.Int64 // successful idle checks, for tests

	connected chan struct{} // closed on the first successful LISTEN
	connOnce  sync.Once
	stop      context.CancelFunc
	done      chan struct{}
}

type feedSub struct{ ch chan struct{} }

var _ licensor.ChangeFeed = (*Feed)(nil)

// Back-off between reconnection attempts of the listening connection.
const (
	feedMinBackoff = 100 * time.Millisecond
	feedMaxBackoff = 5 * time.Second
)

// feedPingEvery is how often an idle listening connection is checked, so
// that a connection silently lost (a failover, a NAT timeout) is replaced
// within about this long rather than after TCP gives up. A variable for
// the tests.
var feedPingEvery = 15 * time.Second

// ChangeFeed returns the store's change feed, starting its listening
// connection on the first call. Close stops it.
func (db *DB) ChangeFeed() *Feed {
	db.feedOnce.Do(func() {
		db.feed = newFeed(db.pool, feedChannel(db.schema), db.log)
	})
	return db.feed
}

// feedChannel is the NOTIFY channel of a deployment: one per schema, so
// that deployments (and tests) sharing a database do not wake each other.
func feedChannel(schema string) string {
	ch := "licensor_changes"
	if schema == "" {
		return ch
	}
	ch += "_" + schema
	if len(ch) > 63 { // NAMEDATALEN - 1
		sum := sha256.Sum256([]byte(schema))
		ch = "licensor_changes_" + hex.EncodeToString(sum[:12])
	}
	return ch
}

func newFeed(pool *pgxpool.Pool, channel string, log *slog.Logger) *Feed {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{
		pool:      pool,
		channel:   channel,
		log:       log.With("component", "store/postgres/feed"),
		subs:      make(map[string]map[*feedSub]struct{}),
		pingEvery: feedPingEvery,
		connected: make(chan struct{}),
		stop:      cancel,
		done:      make(chan struct{}),
	}
	go f.listen(ctx)
	return f
}

func feedKey(tenantID, contractID string) string { return tenantID + "/" + contractID }

// Publish announces a change to every server listening on the database.
// The notification is sent when this call's statement commits, at once.
func (f *Feed) Publish(ctx context.Context, tenantID, contractID string) error {
	if _, err := f.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, f.channel, feedKey(tenantID, contractID)); err != nil {
		return driverErr("Publish", err)
	}
	return nil
}

// Subscribe registers a local subscriber of the contract.
func (f *Feed) Subscribe(tenantID, contractID string) (<-chan struct{}, func()) {
	k := feedKey(tenantID, contractID)
	s := &feedSub{ch: make(chan struct{}, 1)}
	f.mu.Lock()
	if f.subs[k] == nil {
		f.subs[k] = make(map[*feedSub]struct{})
	}
	f.subs[k][s] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs[k], s)
			if len(f.subs[k]) == 0 {
				delete(f.subs, k)
			}
			f.mu.Unlock()
		})
	}
}

// Subscribers returns how many local streams watch the contract.
func (f *Feed) Subscribers(tenantID, contractID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[feedKey(tenantID, contractID)])
}

// Connected is closed once the feed has listened on the database for the
// first time, after it signalled the subscribers of the time (for
// readiness checks and tests).
func (f *Feed) Connected() <-chan struct{} { return f.connected }

// signal wakes the subscribers of one key, or all of them when key is "".
// Sends never block: a pending signal already says "re-read".
func (f *Feed) signal(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	wake := func(set map[*feedSub]struct{}) {
		for s := range set {
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
	if key != "" {
		wake(f.subs[key])
		return
	}
	for _, set := range f.subs {
		wake(set)
	}
}

// listen keeps one connection LISTENing, reconnecting with exponential
// back-off when it drops, until Close.
func (f *Feed) listen(ctx context.Context) {
	defer close(f.done)
	backoff := feedMinBackoff
	for {
		listened, err := f.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = feedMinBackoff // it had been listening: start over
		}
		f.log.Warn("change feed not listening; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, feedMaxBackoff)
	}
}

// session connects, LISTENs, signals every subscriber (changes may have
// been missed while not listening) and dispatches notifications until the
// connection fails or ctx ends. listened reports whether it got as far as
// listening.
func (f *Feed) session(ctx context.Context) (listened bool, err error) {
	// A connection of its own, outside the pool: it is held for as long as
	// the server runs and must not take a slot from the requests.
	cfg := f.pool.Config().ConnConfig
	cfg.RuntimeParams["application_name"] = "licensor-feed"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{f.channel}.Sanitize()); err != nil {
		return false, err
	}
	f.sessions.Add(1)
	f.signal("")
	f.connOnce.Do(func() { close(f.connected) })
	for {
		wctx, cancel := context.WithTimeout(ctx, f.pingEvery)
		n, err := conn.WaitForNotification(wctx)
		idle := wctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			if _, _, ok := strings.Cut(n.Payload, "/"); ok {
				f.signal(n.Payload)
			}
			continue
		case ctx.Err() != nil:
			return true, nil
		case idle:
			// No notification for a while: check that the connection is
			// still there, rather than wait for TCP to notice it is not.
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err == nil {
				f.pings.Add(1)
				continue
			}
		}
		return true, err
	}
}

// close stops the listener and waits for it.
func (f *Feed) close() {
	f.stop()
	<-f.done
}
