// Package wire holds the small adapters that connect Licensor's parts to
// each other where neither should import the other (the service's pool use
// to the alert scanner and to the metrics), shared by cmd/licensor and
// internal/testserver so the two wirings cannot drift apart.
package wire

import (
	"context"

	"github.com/licensor/licensor/metrics"
	"github.com/licensor/licensor/notify"
	"github.com/licensor/licensor/service"
)

// PoolSource lets the alert scanner raise pool.exhausted alerts.
func PoolSource(svc *service.Service) notify.PoolSource { return poolSource{svc} }

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

// PoolLeases feeds the leases-in-use gauge at scrape time.
func PoolLeases(svc *service.Service) func(ctx context.Context) ([]metrics.PoolLeases, error) {
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
