package service

import (
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
