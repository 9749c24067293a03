package app

import (
	"context"

	"github.com/licensor/licensor/metrics"
	"github.com/licensor/licensor/notify"
	"github.com/licensor/licensor/service"
)

// The adapters between parts that must not import each other: the
// service's pool use feeds the alert scanner and the metrics, and the
// scanner's and dispatcher's reports feed the metrics.

// poolSource lets the alert scanner raise pool.exhausted alerts.
type poolSource struct{ svc *service.Service }

func (p poolSource) PoolsAtLimit(ctx context.Context) ([]notify.PoolAtLimit, error) {
	use, err := p.svc.PoolUse(ctx, true)
	if err != nil {
		return nil, err
	}
	out := make([]notify.PoolAtLimit, len(use))
	for i, u := range use {
		out[i] = notify.PoolAtLimit{PoolID: u.PoolID, Feature: u.Feature, MaxUnits: u.MaxUnits, InUse: u.InUse}
	}
	return out, nil
}

// poolLeases feeds the leases-in-use gauge at scrape time.
func poolLeases(svc *service.Service) func(ctx context.Context) ([]metrics.PoolLeases, error) {
	return func(ctx context.Context) ([]metrics.PoolLeases, error) {
		use, err := svc.AllPoolUse(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]metrics.PoolLeases, len(use))
		for i, u := range use {
			out[i] = metrics.PoolLeases{TenantID: u.TenantID, PoolID: u.PoolID, Feature: u.Feature, InUse: u.InUse, Max: u.MaxUnits}
		}
		return out, nil
	}
}

// tenantScanned reports each tenant's scan to the metrics.
func tenantScanned(m *metrics.Metrics) func(notify.TenantScan) {
	return func(s notify.TenantScan) {
		days := make(map[string]int64, len(notify.DaysLeftLabels))
		for i, label := range notify.DaysLeftLabels {
			if i < len(s.DaysLeft) {
				days[label] = s.DaysLeft[i]
			}
		}
		open := make(map[metrics.AlertKind]int, len(s.Open))
		for k, n := range s.Open {
			open[metrics.AlertKind{Type: string(k.Type), Level: k.Level}] += n
		}
		m.TenantScanned(metrics.TenantScan{TenantID: s.TenantID, DaysLeft: days, Open: open,
			SeatsUsed: s.Gauges.SeatsUsed, SeatsUsedCapped: s.Gauges.SeatsUsedCapped, SeatsMax: s.Gauges.SeatsMax,
			DeliveriesPending: s.Gauges.DeliveriesPending})
	}
}

// deliveryAttempted reports each webhook attempt to the metrics.
func deliveryAttempted(m *metrics.Metrics) func(notify.Attempt) {
	return func(a notify.Attempt) {
		m.DeliveryAttempted(metrics.Delivery{TenantID: a.TenantID, OK: a.OK, GaveUp: a.GaveUp, Refused: a.Refused, Latency: a.Latency})
	}
}
