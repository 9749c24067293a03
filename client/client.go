package client

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/license"
)

// Client holds a product's license. Make one with New; it is safe for
// concurrent use. It keeps no package-level state, so several clients (for
// several vendors or contracts) work side by side.
type Client struct {
	cfg        Config
	log        *slog.Logger
	http       *http.Client
	ownHTTP    bool
	rpc        licensorv1connect.LicenseServiceClient
	instanceID string

	// ctx bounds every background goroutine and shared fetch; Close ends it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	initOnce sync.Once
	loopOnce sync.Once
	kick     chan struct{} // wakes the loop to reschedule (a license arrived)
	saveMu   sync.Mutex    // serializes cache writes

	mu          sync.Mutex
	online      *License // from the server or the cache
	static      *License // from Config.LicenseFile
	keys        license.KeySet
	jwks        []byte    // fetched JWKS, persisted with the cache
	jwksFetched time.Time // last JWKS download, to rate-limit refetches
	serverHigh  time.Time // newest server time seen: the clock never goes below it
	rollback    bool      // a clock earlier than serverHigh was seen (warned once)
	lazy        bool      // the loop runs at the lazy cadence
	state       State
	reportedKey string // what OnChange last reported
	envWarned   string // the environment mismatch last warned about
	failures    int
	lastErr     error
	errKey      string // stage+code of the error last reported by OnError
	lastSuccess time.Time
	nextAttempt time.Time
	flight      *flight
	pending     []event
	draining    bool
	handlers    handlers
	unpinned    []string   // kids in the server's JWKS that Config.Keys lacks
	pinsChecked time.Time  // last comparison of the pins with the JWKS
	pinsRunning bool       // a comparison is in flight
	pinsAgain   bool       // one more is due when it ends
	guard       clockGuard // the clock guard's judgement (clock.go)
}

// flight is one fetch shared by every caller that wants one at that moment.
type flight struct {
	done chan struct{}
	err  error
}

// New checks cfg and returns a Client. It does no I/O beyond reading or
// creating the persisted instance id; Start or Check begin the work.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "licensor-client", "contract", cfg.ContractID), kick: make(chan struct{}, 1)}
	if len(cfg.Keys) > 0 {
		c.keys = cfg.Keys
	}
	if c.cfg.Host == "" {
		c.cfg.Host, _ = os.Hostname()
	}
	if c.instanceID, err = c.loadInstanceID(); err != nil {
		return nil, err
	}
	if cfg.Server != "" {
		if c.http, err = httpClient(cfg); err != nil {
			return nil, err
		}
		c.ownHTTP = cfg.HTTPClient == nil
		c.rpc = licenseClient(c.cfg, c.http)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// ContractID returns the contract this client holds a license for.
func (c *Client) ContractID() string { return c.cfg.ContractID }

// InstanceID returns the id this instance presents to the server.
func (c *Client) InstanceID() string { return c.instanceID }

// Start loads the cached license and the static license file, then fetches
// a fresh license and keeps refreshing it in the background until ctx ends
// or Close is called. With a valid cached license it returns at once and
// fetches in the background; otherwise it waits for the first fetch (at most
// Config.Timeout) and returns its error if the product is unlicensed. Either
// way the client keeps trying.
func (c *Client) Start(ctx context.Context) error {
	c.init(ctx)
	if c.Status().Licensed() {
		c.mu.Lock()
		c.nextAttempt = c.nowLocked()
		c.mu.Unlock()
		c.startLoop(ctx, false)
		return nil
	}
	var err error
	if c.rpc != nil {
		err = c.Refresh(ctx)
	}
	c.startLoop(ctx, false)
	if st := c.Status(); !st.Licensed() {
		if err == nil {
			err = st.Err()
		}
		return err
	}
	return nil
}

// Close stops the background work and waits for it. The license held stays
// readable.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// Refresh fetches a fresh license now and returns the error if that failed.
// Concurrent callers share one fetch; each waits at most until its ctx ends.
func (c *Client) Refresh(ctx context.Context) error {
	c.init(ctx)
	c.mu.Lock()
	if f := c.flight; f != nil {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flight = f
	c.mu.Unlock()
	go func() {
		f.err = c.attempt()
		c.mu.Lock()
		c.flight = nil
		c.mu.Unlock()
		close(f.done)
	}()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt makes one fetch, bounded by the timeout, and records its outcome.
func (c *Client) attempt() error {
	if c.rpc == nil {
		return &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EUNAVAILABLE, "no server configured: running on the cache and license file only")}
	}
	err := c.ensureKeys(c.ctx)
	if err == nil {
		var r received
		if r, err = c.fetch(c.ctx); err == nil {
			var lic *License
			if lic, err = c.accept(r, SourceServer); err == nil {
				c.maybeCheckPins(c.tenantOf(lic))
			}
		}
	}
	if err != nil {
		c.mu.Lock()
		c.failedLocked(err)
		c.evaluateLocked()
		c.mu.Unlock()
		c.drain()
	}
	return err
}

// failedLocked records a failed attempt and schedules the retry.
func (c *Client) failedLocked(err error) {
	c.failures++
	c.lastErr = err
	now := c.nowLocked()
	c.nextAttempt = now.Add(c.backoff(c.failures, licensor.RetryAfter(err)))
	key := string(StageOf(err)) + "/" + licensor.ErrorCode(err)
	if key != c.errKey {
		c.errKey = key
		c.queue(event{kind: evError, err: err})
	}
	c.log.Warn("license check failed", "stage", StageOf(err), "code", licensor.ErrorCode(err), "err", licensor.ErrorMessage(err),
		"failures", c.failures, "retry_in", c.nextAttempt.Sub(now).Round(time.Millisecond))
}

// succeededLocked records a successful attempt and schedules the next one.
func (c *Client) succeededLocked(now time.Time) {
	c.failures, c.lastErr, c.errKey = 0, nil, ""
	c.lastSuccess = now
	c.nextAttempt = now.Add(c.jitter(c.intervalLocked()))
}

// intervalLocked is the time between two successful checks.
func (c *Client) intervalLocked() time.Duration {
	switch {
	case c.cfg.RefreshInterval > 0:
		return c.cfg.RefreshInterval
	case c.lazy:
		return DefaultCheckInterval
	case c.online != nil && c.online.Claims.RefreshAfter > 0:
		return time.Duration(c.online.Claims.RefreshAfter) * time.Second
	}
	return DefaultRefreshInterval
}

// startLoop starts the background refresh (and the watch stream) once.
func (c *Client) startLoop(ctx context.Context, lazy bool) {
	c.loopOnce.Do(func() {
		c.mu.Lock()
		c.lazy = lazy
		if c.nextAttempt.IsZero() && !c.lastSuccess.IsZero() {
			c.nextAttempt = c.lastSuccess.Add(c.jitter(c.intervalLocked()))
		}
		c.mu.Unlock()
		loopCtx, cancel := context.WithCancel(c.ctx)
		stop := context.AfterFunc(ctx, cancel)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer stop()
			defer cancel()
			c.loop(loopCtx)
		}()
		if c.cfg.Watch && c.rpc != nil {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.watch(loopCtx)
			}()
		}
	})
}

// loop sleeps until the next attempt or the next state boundary (so that
// OnExpiringSoon and OnExpired fire on time), then acts.
func (c *Client) loop(ctx context.Context) {
	for ctx.Err() == nil {
		wait, fetch := c.nextWake()
		if fetch {
			_ = c.Refresh(ctx)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			continue
		case <-c.cfg.After(wait):
		}
		if ctx.Err() != nil {
			return
		}
		c.Status() // evaluates; fires the events of a boundary crossed
	}
}

// nextWake returns how long to sleep, or fetch=true if an attempt is due.
func (c *Client) nextWake() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	if c.rpc != nil && !now.Before(c.nextAttempt) {
		return 0, true
	}
	wait := time.Duration(1<<63 - 1)
	if c.rpc != nil {
		wait = c.nextAttempt.Sub(now)
	}
	if l := c.currentLocked(now); l != nil {
		exp := l.Claims.ExpiresAt()
		for _, b := range []time.Time{exp.Add(-c.cfg.ExpiringSoon), exp.Add(c.cfg.ClockSkew)} {
			if d := b.Sub(now); d > 0 && d < wait {
				wait = d + time.Second // just past the boundary
			}
		}
	}
	if c.static != nil && c.online != nil {
		if d := c.online.Claims.ExpiresAt().Add(c.cfg.ClockSkew).Sub(now); d > 0 && d < wait {
			wait = d + time.Second
		}
	}
	if wait > 24*time.Hour {
		wait = 24 * time.Hour
	}
	return wait, false
}

// nudge wakes the loop to reschedule.
func (c *Client) nudge() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// errOffline is the status error when nothing can be fetched or loaded.
var errOffline = errors.New("no license: no server reachable and no valid cached license or license file")
