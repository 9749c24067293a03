package app

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/notify"
)

// DefaultReaperInterval is how often expired leases are freed. Grants also
// free their pool's expired leases first, so this only bounds how long an
// expired lease shows as held in listings and usage.
const DefaultReaperInterval = 5 * time.Second

// DefaultPruneInterval is how often telemetry past each tenant's retention
// is deleted. Retention is counted in days, so hourly is plenty.
const DefaultPruneInterval = time.Hour

// buildNotify builds the alert scanner and the webhook dispatcher, each
// raised or cleared alert waking the dispatcher, both reporting to the
// metrics.
func (a *App) buildNotify() {
	interval := max(a.cfg.NotifyInterval, 0) // 0: notify's defaults
	dcfg := notify.DispatcherConfig{
		Store: a.cfg.Store, Sealer: a.cfg.Sealer, Now: a.cfg.Now, PollInterval: interval, Logger: a.log,
		Attempted: deliveryAttempted(a.metrics), Policy: a.cfg.Webhooks,
	}
	if a.cfg.AdjustDispatcher != nil {
		a.cfg.AdjustDispatcher(&dcfg)
	}
	a.dispatcher = notify.NewDispatcher(dcfg)
	a.scanner = notify.NewScanner(notify.ScannerConfig{
		Store: a.cfg.Store, Now: a.cfg.Now, Interval: interval, SilentIntervals: a.cfg.SilentIntervals, Logger: a.log,
		Pools: poolSource{a.service}, Scanned: tenantScanned(a.metrics),
		Raised:  func(*licensor.Alert) { a.dispatcher.Wake() },
		Cleared: func(*licensor.Alert) { a.dispatcher.Wake() },
	})
}

// startBackground runs the scanner, the dispatcher, the lease reaper and
// the telemetry pruner until Close, each unless its interval is negative.
func (a *App) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopBackground = cancel
	if a.cfg.NotifyInterval >= 0 {
		a.supervise(ctx, "alert scanner", a.scanner.Run)
		a.supervise(ctx, "webhook dispatcher", a.dispatcher.Run)
	}
	if every := orDefault(a.cfg.ReaperInterval, DefaultReaperInterval); every > 0 {
		a.supervise(ctx, "lease reaper", func(ctx context.Context) { a.service.RunReaper(ctx, every) })
	}
	if every := orDefault(a.cfg.PruneInterval, DefaultPruneInterval); every > 0 {
		a.supervise(ctx, "telemetry pruner", func(ctx context.Context) {
			tick := time.NewTicker(every)
			defer tick.Stop()
			a.service.RunTelemetryPruner(ctx, tick.C, nil)
		})
	}
}

// firstRestartPause is how long a background job that panicked waits
// before it runs again; the pause doubles with each panic, up to
// maxRestartPause.
var firstRestartPause, maxRestartPause = time.Second, time.Minute

// supervise runs job in the background until ctx ends. A panic in it (a
// bug, met perhaps in one tenant's data) is logged with its stack and the
// job runs again after a pause, so that it neither ends the server, every
// tenant's, nor spins.
func (a *App) supervise(ctx context.Context, name string, job func(context.Context)) {
	a.background.Go(func() {
		pause := firstRestartPause
		for a.runRecovered(ctx, name, job) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, maxRestartPause)
		}
	})
}

// runRecovered runs job and reports whether it panicked.
func (a *App) runRecovered(ctx context.Context, name string, job func(context.Context)) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			a.log.Error("a background job panicked; it runs again after a pause", "job", name, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	job(ctx)
	return false
}

// stopBackgroundWork ends the background work and waits for what is in
// progress (a delivery attempt, a sweep) to finish, so that the store is
// not closed under it.
func (a *App) stopBackgroundWork() {
	if a.stopBackground == nil {
		return
	}
	a.stopBackground()
	a.background.Wait()
}

// orDefault is d, or def when d is zero (a negative d stays: off).
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
