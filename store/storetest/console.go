package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testConsole covers the console's queries: the instance search with its
// filters and keyset pages, the dashboard counts and the two series.
func testConsole(t *testing.T, open opener) {
	t.Run("SearchInstances", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		ctxB, _ := scope(t, s, "Other")
		c1 := newContract(t, s, ctx, 0, nil)
		c2 := newContract(t, s, ctx, 0, nil)
		cB := newContract(t, s, ctxB, 0, nil)
		// 12 instances: web-0..5 under c1, api-0..5 under c2, one check-in
		// an hour apart, two of them in the same hour (ordered by ids, as
		// every hour's instances are: instance_hour.go has the rest); odd
		// ones report version 2.0, even ones 1.0.
		for i := range 6 {
			for j, c := range []*licensor.Contract{c1, c2} {
				name := []string{"web-", "api-"}[j] + fmt.Sprint(i)
				ci := checkin(c.ID, name, at(time.Duration(i)*time.Hour))
				ci.Telemetry = &licensor.Telemetry{ProductVersion: []string{"1.0", "2.0"}[i%2]}
				_, err := s.Checkin(ctx, ci)
				must(t, "Checkin "+name, err)
			}
		}
		_, err := s.Checkin(ctxB, checkin(cB.ID, "web-9", at(10*time.Hour)))
		must(t, "Checkin of another tenant", err)

		all := func(q licensor.InstanceSearch) []string {
			t.Helper()
			var out []string
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("SearchInstances: more than 20 pages")
				}
				is, next, err := s.SearchInstances(ctx, q)
				must(t, "SearchInstances", err)
				if len(is) > q.Limit {
					t.Fatalf("SearchInstances: got %d on a page of %d", len(is), q.Limit)
				}
				for _, i := range is {
					out = append(out, i.ID)
				}
				if next == "" {
					return out
				}
				q.Cursor = next
			}
		}
		// In each hour, web- (of c1) and api- (of c2) tie on the hour: the
		// one of the greater contract id comes first.
		order := func(versions ...int) string {
			first, second := "web-", "api-"
			if c2.ID > c1.ID {
				first, second = second, first
			}
			var out []string
			for _, i := range versions {
				out = append(out, first+fmt.Sprint(i), second+fmt.Sprint(i))
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			name string
			q    licensor.InstanceSearch
			want string
		}{
			{"All", licensor.InstanceSearch{Limit: 5}, order(5, 4, 3, 2, 1, 0)},
			{"Contract", licensor.InstanceSearch{ContractID: c1.ID, Limit: 4}, "web-5 web-4 web-3 web-2 web-1 web-0"},
			{"Customer", licensor.InstanceSearch{CustomerID: c2.CustomerID, Limit: 100}, "api-5 api-4 api-3 api-2 api-1 api-0"},
			{"Version", licensor.InstanceSearch{ProductVersion: "2.0", Limit: 2}, order(5, 3, 1)},
			{"SeenRange", licensor.InstanceSearch{SeenSince: at(2 * time.Hour), SeenBefore: at(4 * time.Hour), Limit: 3}, order(3, 2)},
			{"Prefix", licensor.InstanceSearch{IDPrefix: "web-", Limit: 1}, "web-5 web-4 web-3 web-2 web-1 web-0"},
			{"PrefixNoMatch", licensor.InstanceSearch{IDPrefix: "zzz", Limit: 10}, ""},
			{"Combined", licensor.InstanceSearch{CustomerID: c1.CustomerID, ProductVersion: "1.0", SeenBefore: at(3 * time.Hour), Limit: 10}, "web-2 web-0"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := strings.Join(all(tc.q), " "); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
		_, _, err = s.SearchInstances(ctx, licensor.InstanceSearch{Cursor: "not-a-cursor!", Limit: 10})
		wantCode(t, "SearchInstances with a made-up cursor", err, licensor.EINVALID)
		is, _, err := s.SearchInstances(ctxB, licensor.InstanceSearch{ContractID: c1.ID, Limit: 10})
		must(t, "SearchInstances of another tenant's contract", err)
		eq(t, "instances of another tenant's contract", len(is), 0)
		is, _, err = s.SearchInstances(ctxB, licensor.InstanceSearch{Limit: 10})
		must(t, "SearchInstances in the other tenant", err)
		eq(t, "the other tenant's instances", len(is), 1)
	})

	t.Run("Dashboard", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		ctxB, _ := scope(t, s, "Other")
		newContract(t, s, ctxB, 0, func(c *licensor.Contract) { c.EndsAt = at(24 * time.Hour) })
		newContract(t, s, w.ctx, 0, func(c *licensor.Contract) { c.EndsAt = at(10 * 24 * time.Hour) })
		newContract(t, s, w.ctx, 0, func(c *licensor.Contract) { c.EndsAt = at(40 * 24 * time.Hour) })
		now := at(30 * time.Minute)
		// Check-ins with telemetry at t0-2h and t0 (two), one without.
		for i, when := range []time.Time{at(-2 * time.Hour), t0, at(time.Minute)} {
			ci := checkin(w.contract.ID, fmt.Sprint("i-", i), when)
			ci.Telemetry = &licensor.Telemetry{ProductVersion: "1.0"}
			_, err := s.Checkin(w.ctx, ci)
			must(t, "Checkin", err)
		}
		ci := checkin(w.contract.ID, "expired", at(-30*24*time.Hour))
		ci.LicenseExpiresAt = at(-time.Hour)
		_, err := s.Checkin(w.ctx, ci)
		must(t, "Checkin of an instance whose license has expired", err)
		tid, _ := licensor.TenantFrom(w.ctx)
		must(t, "AppendAudit", s.AppendAudit(w.ctx, &licensor.AuditEntry{ID: licensor.NewID(licensor.PrefixAudit), TenantID: tid, At: at(-time.Hour),
			ActorRole: licensor.RoleAdmin, Action: "license_file.issue", ObjectType: "contract", ObjectID: w.contract.ID}))
		_, err = s.TakeCapabilities(w.ctx, w.take("a", t0, time.Hour, u("solver", 4)))
		must(t, "TakeCapabilities", err)
		_, err = s.RaiseAlert(w.ctx, newAlert(licensor.AlertContractEnding, w.contract.ID, t0), []byte(`{}`), at(time.Hour))
		must(t, "RaiseAlert", err)

		d, err := s.Dashboard(w.ctx, now)
		must(t, "Dashboard", err)
		eq(t, "ActiveInstances", d.ActiveInstances, int64(3))
		eq(t, "ContractsEnding30d", d.ContractsEnding30d, int64(1))
		eq(t, "OpenAlerts", d.OpenAlerts, int64(1))
		eq(t, "hours of check-ins", len(d.CheckinsPerHour), 25)
		eq(t, "hours of license files", len(d.LicenseFilesPerHour), 25)
		byHour := func(hs []licensor.HourCount) map[time.Time]int64 {
			m := map[time.Time]int64{}
			for _, h := range hs {
				if h.Count != 0 {
					m[h.Hour.UTC()] = h.Count
				}
			}
			return m
		}
		hour := t0.UTC().Truncate(time.Hour)
		eq(t, "check-ins by hour", fmt.Sprint(byHour(d.CheckinsPerHour)), fmt.Sprint(map[time.Time]int64{hour.Add(-2 * time.Hour): 1, hour: 2}))
		eq(t, "license files by hour", fmt.Sprint(byHour(d.LicenseFilesPerHour)), fmt.Sprint(map[time.Time]int64{hour.Add(-time.Hour): 1}))
		checkTime(t, "last hour", d.CheckinsPerHour[24].Hour, now.UTC().Truncate(time.Hour))
		var pools []string
		for _, p := range d.Pools {
			pools = append(pools, fmt.Sprintf("%s %d/%d", p.Feature, p.InUse, p.MaxUnits))
			eq(t, "pool", p.PoolID, w.pool.ID)
		}
		eq(t, "pools", strings.Join(pools, ", "), "gpu 0/2, solver 4/10")

		dB, err := s.Dashboard(ctxB, now)
		must(t, "Dashboard of the other tenant", err)
		eq(t, "other tenant's ActiveInstances", dB.ActiveInstances, int64(0))
		eq(t, "other tenant's ContractsEnding30d", dB.ContractsEnding30d, int64(1))
		eq(t, "other tenant's OpenAlerts", dB.OpenAlerts, int64(0))
		eq(t, "other tenant's pools", len(dB.Pools), 0)
	})

	t.Run("PoolUsageSeries", func(t *testing.T) {
		s := open(t)
		w := newCapWorld(t, s, "Acme")
		a, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Hour, u("gpu", 1), u("solver", 2)))
		must(t, "TakeCapabilities a", err)
		_, err = s.TakeCapabilities(w.ctx, w.take("b", at(2*time.Minute), time.Hour, u("solver", 3)))
		must(t, "TakeCapabilities b", err)
		_, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: a.Lease.ID, ContractID: w.contract.ID, InstanceID: "a", Now: at(3 * time.Minute)})
		must(t, "ReturnCapabilities a", err)
		_, err = s.TakeCapabilities(w.ctx, w.take("c", at(6*time.Minute), time.Hour, u("gpu", 1)))
		must(t, "TakeCapabilities c", err)

		// Buckets of 2 minutes from t0-2m: before anything, then gpu 1 and
		// solver 2, then solver peaks at 5 and ends at 3 and gpu ends at 0,
		// then a quiet bucket, then gpu 1 again.
		ps, err := s.PoolUsageSeries(w.ctx, w.pool.ID, at(-2*time.Minute), at(8*time.Minute), 2*time.Minute)
		must(t, "PoolUsageSeries", err)
		got := map[string][]int64{}
		for _, p := range ps {
			got[p.Key] = append(got[p.Key], p.Value)
		}
		eq(t, "gpu", fmt.Sprint(got["gpu"]), "[0 1 0 0 1]")
		eq(t, "solver", fmt.Sprint(got["solver"]), "[0 2 5 3 3]")
		checkTime(t, "first bucket", ps[0].At, at(-2*time.Minute))

		// A range after everything carries the closing values.
		ps, err = s.PoolUsageSeries(w.ctx, w.pool.ID, at(time.Hour), at(time.Hour+2*time.Minute), time.Minute)
		must(t, "PoolUsageSeries later", err)
		eq(t, "later", fmt.Sprintf("%s %d %s %d", ps[0].Key, ps[0].Value, ps[2].Key, ps[2].Value), "gpu 1 solver 3")

		ctxB, _ := scope(t, s, "Other")
		_, err = s.PoolUsageSeries(ctxB, w.pool.ID, t0, at(time.Hour), time.Minute)
		wantCode(t, "PoolUsageSeries of another tenant's pool", err, licensor.ENOTFOUND)
	})

	t.Run("TelemetryVersionSeries", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		ctxB, _ := scope(t, s, "Other")
		c := newContract(t, s, ctx, 0, nil)
		cB := newContract(t, s, ctxB, 0, nil)
		report := func(ctx context.Context, contract, instance, version string, when time.Time) {
			t.Helper()
			ci := checkin(contract, instance, when)
			ci.Telemetry = &licensor.Telemetry{ProductVersion: version}
			_, err := s.Checkin(ctx, ci)
			must(t, "Checkin "+instance, err)
		}
		report(ctx, c.ID, "a", "1.0", t0)
		report(ctx, c.ID, "a", "1.0", at(time.Minute)) // the same instance twice: counted once
		report(ctx, c.ID, "b", "1.0", at(2*time.Minute))
		report(ctx, c.ID, "a", "2.0", at(time.Hour))
		report(ctxB, cB.ID, "x", "1.0", t0)
		ps, err := s.TelemetryVersionSeries(ctx, t0, at(2*time.Hour), time.Hour)
		must(t, "TelemetryVersionSeries", err)
		var got []string
		for _, p := range ps {
			got = append(got, fmt.Sprintf("%s %s=%d", p.At.UTC().Format("15:04"), p.Key, p.Value))
		}
		eq(t, "series", strings.Join(got, ", "), "22:04 1.0=2, 23:04 2.0=1")
	})
}
