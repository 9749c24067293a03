package main

import (
	"context"
	"time"
)

// telemetryPruneInterval is how often serve deletes telemetry past each
// tenant's retention. Retention is counted in days, so hourly is plenty.
const telemetryPruneInterval = time.Hour

// startTelemetryPruner runs the service's telemetry pruning every
// telemetryPruneInterval until Close.
func (m *Main) startTelemetryPruner() {
	ctx, cancel := context.WithCancel(context.Background())
	m.stopPruner = cancel
	tick := time.NewTicker(telemetryPruneInterval)
	go func() {
		defer tick.Stop()
		m.Service.RunTelemetryPruner(ctx, tick.C, nil)
	}()
}
