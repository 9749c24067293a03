package licensor

import (
	"context"
	"time"
)

// UsageKind is what happened to a pool's feature.
type UsageKind string

const (
	UsageGrant   UsageKind = "grant"
	UsageRenew   UsageKind = "renew"
	UsageReturn  UsageKind = "return"
	UsageRelease UsageKind = "release" // an administrator's force-release
	UsageExpire  UsageKind = "expire"
	UsageDeny    UsageKind = "deny"
)

// UsageEvent is one change (or refusal) of one feature of a pool, recorded
// in the transaction that made it.
type UsageEvent struct {
	// Seq orders events in the order they were committed.
	Seq      int64
	TenantID string
	PoolID   string
	Feature  string
	Kind     UsageKind
	// Units granted, renewed, returned, freed or (for a denial) asked for.
	Units int64
	// InUse is the feature's units in use right after the event.
	InUse      int64
	At         time.Time
	LeaseID    string
	ContractID string
	InstanceID string
}

// UsageQuery selects a pool's usage events in [Since, Until).
type UsageQuery struct {
	PoolID string
	Since  time.Time
	Until  time.Time
}

// UsageStore keeps usage events (tenant-scoped). The stores record them
// themselves, in the lease transactions.
type UsageStore interface {
	// ListUsageEvents returns, for each feature of the pool, its last event
	// before q.Since (if any: it tells the units in use at q.Since), then
	// every event in [q.Since, q.Until), in commit order. ENOTFOUND for an
	// unknown pool.
	ListUsageEvents(ctx context.Context, q UsageQuery) ([]*UsageEvent, error)
}

// Usage report bounds.
const (
	DefaultUsagePeriod = time.Hour
	MinUsagePeriod     = time.Minute
	MaxUsagePeriods    = 10000
)

// UsageRow is one feature of a pool over one period.
type UsageRow struct {
	PoolID      string
	Feature     string
	PeriodStart time.Time
	PeakUnits   int64   // most units in use at once
	UnitHours   float64 // the integral of units in use over the period
	Grants      int64
	Renewals    int64
	Denials     int64
	Returns     int64 // returns and administrators' releases
	Expiries    int64
	// PeakOverage is the most units in use beyond the feature's size (its
	// overdraft), against its size when the report is made.
	PeakOverage int64
}

// BuildUsageReport aggregates events as ListUsageEvents returns them into
// rows per feature (in the order given) and period, from since until until.
// Every feature gets a row for every period, even a quiet one.
func BuildUsageReport(poolID string, features []string, events []*UsageEvent, since, until time.Time, period time.Duration) []UsageRow {
	if period <= 0 || !until.After(since) {
		return nil
	}
	n := int((until.Sub(since) + period - 1) / period)
	byFeature := make(map[string][]*UsageEvent, len(features))
	for _, e := range events {
		byFeature[e.Feature] = append(byFeature[e.Feature], e)
	}
	rows := make([]UsageRow, 0, n*len(features))
	for _, f := range features {
		fr := make([]UsageRow, n)
		for i := range fr {
			fr[i] = UsageRow{PoolID: poolID, Feature: f, PeriodStart: since.Add(time.Duration(i) * period)}
		}
		var level int64
		cursor := since
		// advance accumulates unit-hours at the current level up to t,
		// period by period.
		advance := func(t time.Time) {
			for cursor.Before(t) {
				i := int(cursor.Sub(since) / period)
				end := since.Add(time.Duration(i+1) * period)
				if end.After(t) {
					end = t
				}
				fr[i].UnitHours += float64(level) * end.Sub(cursor).Hours()
				fr[i].PeakUnits = max(fr[i].PeakUnits, level)
				cursor = end
			}
		}
		for _, e := range byFeature[f] {
			if e.At.Before(since) {
				level = e.InUse // the level at since
				continue
			}
			if !e.At.Before(until) {
				break
			}
			advance(e.At)
			level = e.InUse
			i := int(max(e.At.Sub(since), 0) / period)
			r := &fr[i]
			r.PeakUnits = max(r.PeakUnits, level)
			switch e.Kind {
			case UsageGrant:
				r.Grants++
			case UsageRenew:
				r.Renewals++
			case UsageDeny:
				r.Denials++
			case UsageReturn, UsageRelease:
				r.Returns++
			case UsageExpire:
				r.Expiries++
			}
		}
		advance(until)
		rows = append(rows, fr...)
	}
	return rows
}
