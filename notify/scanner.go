package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/licensor/licensor"
)

// Scanner defaults.
const (
	DefaultScanInterval    = time.Minute
	DefaultSilentIntervals = 3
	// DefaultCloneAlertFor is ScannerConfig.CloneAlertFor's default.
	DefaultCloneAlertFor = 24 * time.Hour
	// scanLimit bounds each query of a tenant's scan; an alert type whose
	// query hit it is raised for what was seen and not cleared this scan.
	scanLimit = 10000
	lockName  = "notify.scanner"
)

// DaysLeftBounds are the bucket bounds of instances by days of license
// left, and DaysLeftLabels their names (one more: the last is open-ended).
var (
	DaysLeftBounds = []time.Duration{0, 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour}
	DaysLeftLabels = []string{"expired", "0-1", "1-7", "7-14", "14-30", "30+"}
)

// PoolAtLimit is a pool feature with every unit leased.
type PoolAtLimit struct {
	PoolID   string
	Feature  string
	MaxUnits int64
	InUse    int64
}

// PoolSource is the extension point for pool.exhausted alerts: it lists the
// pool features of the tenant scoped in ctx that are at their limit.
// Without one (Pools nil), no pool alert is raised or cleared.
type PoolSource interface {
	PoolsAtLimit(ctx context.Context) ([]PoolAtLimit, error)
}

// TenantScan is what one scan saw of a tenant, for metrics.
type TenantScan struct {
	TenantID string
	// Open counts open alerts by type and level after the scan.
	Open map[licensor.AlertKey]int // ObjectID is empty in these keys
	// DaysLeft counts instances of live contracts by DaysLeftLabels.
	DaysLeft []int64
	// Gauges are the tenant's seats in use and webhook backlog.
	Gauges licensor.ScanGauges
}

// ScannerConfig wires a Scanner.
type ScannerConfig struct {
	Store licensor.Store
	Now   func() time.Time // default time.Now
	// Interval between scans (default DefaultScanInterval).
	Interval time.Duration
	// SilentIntervals: an instance not seen for longer than this many
	// refresh intervals of its contract is silent (default 3).
	SilentIntervals int
	// CloneAlertFor: an instance.cloned alert stays open this long after
	// the last check-in that flagged the instance (default
	// DefaultCloneAlertFor).
	CloneAlertFor time.Duration
	// RetryFor is how long each delivery is retried (default
	// licensor.DefaultDeliveryRetryFor).
	RetryFor time.Duration
	Pools    PoolSource
	Logger   *slog.Logger
	// Scanned, if set, is called after each tenant's scan.
	Scanned func(TenantScan)
	// Raised, if set, is called after an alert was raised (to wake the
	// dispatcher, say).
	Raised func(*licensor.Alert)
	// Cleared, if set, is called after an alert was cleared (its cleared
	// event queued), with ClearedAt set.
	Cleared func(*licensor.Alert)
}

// Scanner raises and clears alert episodes from what the store holds.
type Scanner struct {
	cfg    ScannerConfig
	log    *slog.Logger
	holder string
	mu     sync.Mutex // one scan at a time in this process
}

// NewScanner returns a Scanner.
func NewScanner(cfg ScannerConfig) *Scanner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultScanInterval
	}
	if cfg.SilentIntervals <= 0 {
		cfg.SilentIntervals = DefaultSilentIntervals
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = licensor.DefaultDeliveryRetryFor
	}
	if cfg.CloneAlertFor <= 0 {
		cfg.CloneAlertFor = DefaultCloneAlertFor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Scanner{cfg: cfg, log: cfg.Logger.With("component", "notify/scanner"), holder: "scanner-" + hex.EncodeToString(b[:])}
}

// Run scans every interval until ctx ends.
func (s *Scanner) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.ScanOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "scan failed; retrying at the next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			_ = s.cfg.Store.ReleaseJobLock(context.WithoutCancel(ctx), lockName, s.holder)
			return
		case <-t.C:
		}
	}
}

// ScanOnce scans every tenant once, if this scanner holds (or can take) the
// job lock; another server's scanner holding it makes this a no-op.
func (s *Scanner) ScanOnce(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	ttl := max(3*s.cfg.Interval, time.Minute)
	ok, err := s.cfg.Store.AcquireJobLock(ctx, lockName, s.holder, now, now.Add(ttl))
	if err != nil || !ok {
		return err
	}
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		ts, err := s.cfg.Store.ListTenants(ctx, opts)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := s.scanTenant(licensor.WithTenant(ctx, t.ID), t, now); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.ErrorContext(ctx, "scan of a tenant failed", "tenant", t.ID, "err", err)
			}
		}
		if len(ts) < opts.Limit {
			return nil
		}
		opts.After = ts[len(ts)-1].ID
	}
}

// candidate is a condition that holds now.
type candidate struct {
	key  licensor.AlertKey
	data map[string]any
}

func (s *Scanner) scanTenant(ctx context.Context, t *licensor.Tenant, now time.Time) error {
	want := map[licensor.AlertKey]candidate{}
	partial := map[licensor.AlertType]bool{} // a query hit its limit: do not clear
	add := func(c candidate) { want[c.key] = c }

	warning := t.ExpiryWarning
	if warning <= 0 {
		warning = licensor.DefaultExpiryWarning
	}
	expiring, err := s.cfg.Store.ExpiringInstances(ctx, now, now.Add(warning), scanLimit)
	if err != nil {
		return err
	}
	partial[licensor.AlertLicenseExpiring] = len(expiring) >= scanLimit
	for _, i := range expiring {
		add(candidate{licensor.AlertKey{Type: licensor.AlertLicenseExpiring, ObjectID: i.ContractID + "/" + i.ID}, map[string]any{
			"contract_id": i.ContractID, "instance_id": i.ID, "license_id": i.LicenseID,
			"license_expires_at": i.LicenseExpiresAt, "last_seen_at": i.LastSeenAt, "threshold_seconds": int64(warning / time.Second),
		}})
	}
	silent, err := s.cfg.Store.SilentInstances(ctx, now, s.cfg.SilentIntervals, scanLimit)
	if err != nil {
		return err
	}
	partial[licensor.AlertInstanceSilent] = len(silent) >= scanLimit
	for _, i := range silent {
		add(candidate{licensor.AlertKey{Type: licensor.AlertInstanceSilent, ObjectID: i.ContractID + "/" + i.ID}, map[string]any{
			"contract_id": i.ContractID, "instance_id": i.ID, "last_seen_at": i.LastSeenAt,
			"license_expires_at": i.LicenseExpiresAt, "refresh_intervals": s.cfg.SilentIntervals,
		}})
	}
	cloned, err := s.cfg.Store.ClonedInstances(ctx, now, now.Add(-s.cfg.CloneAlertFor), scanLimit)
	if err != nil {
		return err
	}
	partial[licensor.AlertInstanceCloned] = len(cloned) >= scanLimit
	for _, i := range cloned {
		add(candidate{licensor.AlertKey{Type: licensor.AlertInstanceCloned, ObjectID: i.ContractID + "/" + i.ID}, map[string]any{
			"contract_id": i.ContractID, "instance_id": i.ID, "clone_suspected_at": i.CloneSuspectedAt,
			"host": i.Host, "remote_addr": i.RemoteAddr, "last_seen_at": i.LastSeenAt,
		}})
	}
	widest := licensor.ContractEndingLevels[0].Within
	// Only contracts still live are ending: once a contract's end has come
	// it is ended, and its open ending alerts clear below like any
	// condition that no longer holds.
	ending, err := s.cfg.Store.EndingContracts(ctx, now, now.Add(widest), scanLimit)
	if err != nil {
		return err
	}
	partial[licensor.AlertContractEnding] = len(ending) >= scanLimit
	for _, c := range ending {
		if c.Ended(now) {
			continue
		}
		for _, l := range licensor.ContractEndingLevels {
			if c.EndsAt.Before(now.Add(l.Within)) {
				add(candidate{licensor.AlertKey{Type: licensor.AlertContractEnding, ObjectID: c.ID, Level: l.Level}, map[string]any{
					"contract_id": c.ID, "customer_id": c.CustomerID, "contract_name": c.Name, "ends_at": c.EndsAt, "within": l.Level,
				}})
			}
		}
	}
	if s.cfg.Pools != nil {
		pools, err := s.cfg.Pools.PoolsAtLimit(ctx)
		if err != nil {
			return err
		}
		for _, p := range pools {
			add(candidate{licensor.AlertKey{Type: licensor.AlertPoolExhausted, ObjectID: p.PoolID + "/" + p.Feature}, map[string]any{
				"pool_id": p.PoolID, "feature": p.Feature, "max_units": p.MaxUnits, "in_use": p.InUse,
			}})
		}
	} else {
		partial[licensor.AlertPoolExhausted] = true // nobody watches pools: leave their alerts alone
	}

	open, err := s.openAlerts(ctx)
	if err != nil {
		return err
	}
	counts := map[licensor.AlertKey]int{}
	for _, a := range open {
		if _, ok := want[a.Key()]; ok || partial[a.Type] {
			delete(want, a.Key())
			counts[licensor.AlertKey{Type: a.Type, Level: a.Level}]++
			continue
		}
		if err := s.clear(ctx, a, now); err != nil {
			return err
		}
	}
	for _, c := range want {
		raised, err := s.raise(ctx, t.ID, c, now)
		if err != nil {
			return err
		}
		if raised {
			counts[licensor.AlertKey{Type: c.key.Type, Level: c.key.Level}]++
		}
	}
	if s.cfg.Scanned != nil {
		bounds := make([]time.Time, len(DaysLeftBounds))
		for i, d := range DaysLeftBounds {
			bounds[i] = now.Add(d)
		}
		hist, err := s.cfg.Store.LicenseExpiryHistogram(ctx, now, bounds)
		if err != nil {
			return err
		}
		gauges, err := s.cfg.Store.ScanGauges(ctx, now)
		if err != nil {
			return err
		}
		s.cfg.Scanned(TenantScan{TenantID: t.ID, Open: counts, DaysLeft: hist, Gauges: gauges})
	}
	return nil
}

func (s *Scanner) openAlerts(ctx context.Context) ([]*licensor.Alert, error) {
	var all []*licensor.Alert
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		as, err := s.cfg.Store.ListAlerts(ctx, licensor.AlertFilter{ListOptions: opts})
		if err != nil {
			return nil, err
		}
		all = append(all, as...)
		if len(as) < opts.Limit {
			return all, nil
		}
		opts.After = as[len(as)-1].ID
	}
}

// Payload is the body of every webhook: Standard Webhooks' type,
// timestamp and data.
type Payload struct {
	Type      licensor.AlertType `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Data      json.RawMessage    `json:"data"`
}

func (s *Scanner) raise(ctx context.Context, tenantID string, c candidate, now time.Time) (bool, error) {
	a := &licensor.Alert{ID: licensor.NewID(licensor.PrefixEvent), TenantID: tenantID, Type: c.key.Type, ObjectID: c.key.ObjectID, Level: c.key.Level, RaisedAt: now}
	data := map[string]any{"alert_id": a.ID, "tenant_id": tenantID, "object_id": a.ObjectID, "raised_at": now.UTC()}
	if a.Level != "" {
		data["level"] = a.Level
	}
	for k, v := range c.data {
		data[k] = v
	}
	var err error
	if a.Data, err = json.Marshal(data); err != nil {
		return false, licensor.Internal("alert data", err)
	}
	body, err := json.Marshal(Payload{Type: a.Type, Timestamp: now.UTC(), Data: a.Data})
	if err != nil {
		return false, licensor.Internal("alert payload", err)
	}
	raised, err := s.cfg.Store.RaiseAlert(ctx, a, body, now.Add(s.cfg.RetryFor))
	if err != nil || !raised {
		return false, err
	}
	s.log.InfoContext(ctx, "alert raised", "tenant", tenantID, "type", a.Type, "object", a.ObjectID, "level", a.Level, "event", a.ID)
	if s.cfg.Raised != nil {
		s.cfg.Raised(a)
	}
	return true, nil
}

// clear closes an open episode and, in the same store transaction, queues
// its cleared event: type a.Type.Cleared(), a new event id, and the data the
// raise carried (alert_id, object_id, raised_at, ...) plus cleared_at, so a
// receiver can resolve what it opened without calling back.
func (s *Scanner) clear(ctx context.Context, a *licensor.Alert, now time.Time) error {
	data := map[string]any{}
	if len(a.Data) > 0 {
		if err := json.Unmarshal(a.Data, &data); err != nil {
			return licensor.Internal("alert data of "+a.ID, err)
		}
	}
	data["alert_id"], data["tenant_id"], data["object_id"] = a.ID, a.TenantID, a.ObjectID
	data["raised_at"], data["cleared_at"] = a.RaisedAt.UTC(), now.UTC()
	raw, err := json.Marshal(data)
	if err != nil {
		return licensor.Internal("cleared event data", err)
	}
	typ := a.Type.Cleared()
	body, err := json.Marshal(Payload{Type: typ, Timestamp: now.UTC(), Data: raw})
	if err != nil {
		return licensor.Internal("cleared event payload", err)
	}
	eventID := licensor.NewID(licensor.PrefixEvent)
	cleared, err := s.cfg.Store.ClearAlert(ctx, a.ID, now, eventID, body, now.Add(s.cfg.RetryFor))
	if err != nil || !cleared {
		return err
	}
	a.ClearedAt = now
	s.log.InfoContext(ctx, "alert cleared", "tenant", a.TenantID, "type", a.Type, "object", a.ObjectID, "level", a.Level, "event", eventID)
	if s.cfg.Cleared != nil {
		s.cfg.Cleared(a)
	}
	return nil
}
