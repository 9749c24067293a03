package service

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// TestDashboardCache: a count is served while fresh, served stale while a
// background recount runs, and counted before answering once too old;
// tenants never share a count.
func TestDashboardCache(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.contract(licensor.Contract{RefreshInterval: time.Hour})
	active := func() int64 {
		t.Helper()
		d, err := f.svc.Dashboard(f.admin, "")
		if err != nil {
			t.Fatalf("Dashboard: %v", err)
		}
		return d.ActiveInstances
	}
	if _, err := f.license(ctx, c, "node-1", ""); err != nil {
		t.Fatal(err)
	}
	if got := active(); got != 1 {
		t.Fatalf("first count: %d active, want 1", got)
	}
	if _, err := f.license(ctx, c, "node-2", ""); err != nil {
		t.Fatal(err)
	}
	if got := active(); got != 1 {
		t.Errorf("within %s: %d active, want the kept count 1", DashboardFresh, got)
	}
	f.clock.Advance(DashboardFresh)
	if got := active(); got != 1 {
		t.Errorf("stale: %d active, want the kept count 1 while it is recounted", got)
	}
	f.svc.dash.recounts.Wait()
	if got := active(); got != 2 {
		t.Errorf("after the recount: %d active, want 2", got)
	}
	if _, err := f.license(ctx, c, "node-3", ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(DashboardStale)
	if got := active(); got != 3 {
		t.Errorf("older than %s: %d active, want a fresh count of 3", DashboardStale, got)
	}

	// Another tenant counts its own.
	other, secret, err := f.svc.CreateTenant(f.op, licensor.Tenant{Name: "Other"}, true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Dashboard(f.login(secret), other.ID)
	if err != nil || d.ActiveInstances != 0 {
		t.Errorf("the other tenant's dashboard: %+v, %v; want 0 active", d, err)
	}
}

// panicDashboard is a store whose dashboard count panics, as a bug would.
type panicDashboard struct{ licensor.Store }

func (panicDashboard) Dashboard(context.Context, time.Time) (*licensor.Dashboard, error) {
	panic("a bug")
}

// TestDashboardRecountPanics: a background recount that panics is a
// failed recount: the kept count is served and the server goes on.
func TestDashboardRecountPanics(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Dashboard(f.admin, ""); err != nil {
		t.Fatal(err)
	}
	f.svc.store = panicDashboard{f.svc.store}
	f.clock.Advance(DashboardFresh)
	if _, err := f.svc.Dashboard(f.admin, ""); err != nil {
		t.Fatalf("stale: got error %v, want the kept count", err)
	}
	f.svc.dash.recounts.Wait() // the recount has ended, without ending the test binary
	f.svc.dash.mu.Lock()
	recounting := f.svc.dash.m[f.tenantID].recounting
	f.svc.dash.mu.Unlock()
	if recounting {
		t.Error("after the failed recount: still marked as recounting, so no other would start")
	}
}
