package licensor

import (
	"context"
	"time"
)

// InstanceSearch selects instances of a tenant for the console, newest
// check-in first, one page at a time by an opaque cursor.
type InstanceSearch struct {
	ContractID string
	CustomerID string
	// ProductVersion, if set, selects the instances whose latest telemetry
	// reports exactly this product version.
	ProductVersion string
	// SeenSince and SeenBefore bound the last check-in: SeenSince <=
	// LastSeenAt < SeenBefore; zero is no bound.
	SeenSince, SeenBefore time.Time
	// IDPrefix selects instance ids that start with it.
	IDPrefix string
	// Cursor is the NextCursor of the page before, "" for the first.
	Cursor string
	Limit  int
}

// Validate checks a search and fills the default page size.
func (s *InstanceSearch) Validate() error {
	if s.ContractID != "" {
		if err := ValidateID("contract_id", s.ContractID); err != nil {
			return err
		}
	}
	if s.CustomerID != "" {
		if err := ValidateID("customer_id", s.CustomerID); err != nil {
			return err
		}
	}
	if len(s.ProductVersion) > MaxTelemetryValueLen {
		return Errorf(EINVALID, "product version is %d bytes; the limit is %d", len(s.ProductVersion), MaxTelemetryValueLen)
	}
	if len(s.IDPrefix) > MaxIDLen {
		return Errorf(EINVALID, "instance id prefix is %d bytes; the limit is %d", len(s.IDPrefix), MaxIDLen)
	}
	if !s.SeenSince.IsZero() && !s.SeenBefore.IsZero() && !s.SeenSince.Before(s.SeenBefore) {
		return Errorf(EINVALID, "seen_since must be before seen_before")
	}
	o, err := ListOptions{Limit: s.Limit}.Normalize()
	if err != nil {
		return err
	}
	s.Limit = o.Limit
	return nil
}

// HourCount is a count in the hour starting at Hour.
type HourCount struct {
	Hour  time.Time
	Count int64
}

// PoolFeatureUse is how much of one feature of a pool is in use.
type PoolFeatureUse struct {
	PoolID   string
	PoolName string
	Feature  string
	InUse    int64
	MaxUnits int64
}

// Dashboard is what the console's first page shows about a tenant, as of
// Now.
type Dashboard struct {
	Now time.Time
	// ActiveInstances hold a license that has not expired.
	ActiveInstances int64
	// CheckinsPerHour counts, for each of the last 24 hours, the licenses
	// issued to instances that carried telemetry (each such check-in is a
	// point of the telemetry history; a check-in without telemetry leaves
	// only the instance's latest, so it is not counted per hour).
	CheckinsPerHour []HourCount
	// LicenseFilesPerHour counts the static license files issued in each
	// of the last 24 hours (from the audit log).
	LicenseFilesPerHour []HourCount
	// ContractsEnding30d are live contracts whose end is within 30 days.
	ContractsEnding30d int64
	OpenAlerts         int64
	Pools              []PoolFeatureUse
}

// SeriesPoint is one bucket of a series: the value for Key (a feature, a
// version) in the bucket starting at At.
type SeriesPoint struct {
	At    time.Time
	Key   string
	Value int64
}

// ConsoleStore answers the console's listing and dashboard queries
// (tenant-scoped). Each is a fixed number of statements, each served by an
// index, whatever the number of instances.
type ConsoleStore interface {
	// SearchInstances returns a page of instances (newest UTC hour of last
	// check-in first, then contract and instance id descending: within an
	// hour not by the exact time) and the cursor of the next page (""
	// after the last). EINVALID for a cursor it did not make.
	SearchInstances(ctx context.Context, s InstanceSearch) ([]*Instance, string, error)
	// Dashboard counts what the console's first page shows, as of now.
	Dashboard(ctx context.Context, now time.Time) (*Dashboard, error)
	// PoolUsageSeries returns, for each feature of a pool and each bucket
	// of step from since to until, the most units in use in the bucket
	// (what the bucket before ended with when nothing happened in it).
	// ENOTFOUND for an unknown pool.
	PoolUsageSeries(ctx context.Context, poolID string, since, until time.Time, step time.Duration) ([]SeriesPoint, error)
	// TelemetryVersionSeries returns, for each bucket of step from since to
	// until, how many distinct instances reported each product version in
	// it ("" for none reported).
	TelemetryVersionSeries(ctx context.Context, since, until time.Time, step time.Duration) ([]SeriesPoint, error)
}

// MaxSeriesBuckets bounds the buckets of one series query.
const MaxSeriesBuckets = 1000

// SeriesRange is the time range and bucket size of a series query.
type SeriesRange struct {
	Since, Until time.Time
	Step         time.Duration
}

// Normalize fills the defaults relative to now (the last 24 hours by the
// hour) and checks the range: Since before Until, Step at least a minute,
// at most MaxSeriesBuckets buckets.
func (r SeriesRange) Normalize(now time.Time) (SeriesRange, error) {
	if r.Until.IsZero() {
		r.Until = now
	}
	if r.Since.IsZero() {
		r.Since = r.Until.Add(-24 * time.Hour)
	}
	if r.Step == 0 {
		r.Step = time.Hour
	}
	if !r.Since.Before(r.Until) {
		return r, Errorf(EINVALID, "since must be before until")
	}
	if r.Step < time.Minute {
		return r, Errorf(EINVALID, "step %s is shorter than a minute", r.Step)
	}
	if n := (r.Until.Sub(r.Since) + r.Step - 1) / r.Step; n > MaxSeriesBuckets {
		return r, Errorf(EINVALID, "%d buckets of %s; the limit is %d: take a longer step or a shorter range", n, r.Step, MaxSeriesBuckets)
	}
	return r, nil
}
