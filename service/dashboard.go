package service

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/licensor/licensor"
)

// A tenant's dashboard counts every instance it has (active instances are
// those whose license has not expired): about 0.4 s at a million. So each
// server keeps each tenant's last count and serves it while it is fresh;
// a stale one is served while a recount runs in the background, and one
// older than DashboardStale (or none) is counted before answering. The
// dashboard's Now says when it was counted.
const (
	DashboardFresh = 30 * time.Second
	DashboardStale = 5 * time.Minute
	// dashboardRecount bounds a background recount.
	dashboardRecount = time.Minute
)

// dashboards is the per-tenant cache of dashboard counts.
type dashboards struct {
	mu       sync.Mutex
	m        map[string]*dashEntry
	recounts sync.WaitGroup // background recounts running (tests wait on it)
}

type dashEntry struct {
	d          *licensor.Dashboard
	recounting bool
}

// Dashboard returns the counts of the console's first page, counted at
// most DashboardFresh ago (see above). Codes: EFORBIDDEN, ENOTFOUND.
func (s *Service) Dashboard(ctx context.Context, tenantID string) (*licensor.Dashboard, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	tid, _ := licensor.TenantFrom(ctx)
	now := s.now().UTC()
	c := &s.dash
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*dashEntry{}
	}
	e := c.m[tid]
	if e != nil {
		age := now.Sub(e.d.Now)
		if age >= 0 && age < DashboardFresh {
			d := e.d
			c.mu.Unlock()
			return d, nil
		}
		if age >= 0 && age < DashboardStale {
			d := e.d
			if !e.recounting {
				e.recounting = true
				c.recounts.Add(1)
				go s.recountDashboard(context.WithoutCancel(ctx), tid)
			}
			c.mu.Unlock()
			return d, nil
		}
	}
	c.mu.Unlock()
	d, err := s.store.Dashboard(ctx, now)
	if err != nil {
		return nil, err
	}
	s.keepDashboard(tid, d)
	return d, nil
}

// recountDashboard counts tenant tid's dashboard again, in the background.
func (s *Service) recountDashboard(ctx context.Context, tid string) {
	defer s.dash.recounts.Done()
	ctx, cancel := context.WithTimeout(ctx, dashboardRecount)
	defer cancel()
	d, err := s.countDashboard(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "dashboard recount failed; the last count is served until it is stale", "tenant", tid, "err", err)
		s.dash.mu.Lock()
		if e := s.dash.m[tid]; e != nil {
			e.recounting = false
		}
		s.dash.mu.Unlock()
		return
	}
	s.keepDashboard(tid, d)
}

// countDashboard counts the dashboard of ctx's tenant, for the recount's
// own goroutine: a panic (a bug) becomes its error, with the stack,
// instead of ending the server.
func (s *Service) countDashboard(ctx context.Context) (d *licensor.Dashboard, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.store.Dashboard(ctx, s.now().UTC())
}

// keepDashboard stores d as tenant tid's count unless a newer one is kept.
func (s *Service) keepDashboard(tid string, d *licensor.Dashboard) {
	c := &s.dash
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[tid]; e != nil && e.d.Now.After(d.Now) {
		e.recounting = false
		return
	}
	c.m[tid] = &dashEntry{d: d}
}
