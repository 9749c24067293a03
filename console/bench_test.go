package console_test

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the seeding connection

	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/service"
)

// BenchmarkPages measures the instances page (unfiltered and filtered)
// and the dashboard with many instances stored
// (LICENSOR_BENCH_INSTANCES, default 1,000,000), and reports their p99.
// The instances are written straight into the SQLite file, between two
// starts of the server on it, as a day of check-ins would leave them.
//
//	go test ./console -run '^$' -bench Pages -benchtime 200x
func BenchmarkPages(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("LICENSOR_BENCH_INSTANCES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	first := testserver.Start(b, testserver.Options{Dir: dir})
	f := first.NewFixture(b, testserver.FixtureOptions{})
	now := first.Clock.Now()
	first.Close()
	seed(b, filepath.Join(dir, "licensor.db"), f.TenantID, f.ContractID, n, now)
	s := testserver.Start(b, testserver.Options{Dir: dir, Clock: testserver.NewClock(now)})
	br := newBrowser(b, s)
	br.signin(f.AdminToken)
	for _, p := range []struct {
		name, path string
		recount    bool // move the clock past the kept dashboard: every load counts
	}{
		{"instances", "/console/instances", false},
		{"instances-contract", "/console/instances?contract=" + f.ContractID, false},
		{"instances-prefix", "/console/instances?prefix=i-4242", false},
		{"instances-seen-before", "/console/instances?seen_before=" + now.Add(-24*time.Hour).Format("2006-01-02"), false},
		{"dashboard", "/console/", false},
		{"dashboard-counted", "/console/", true},
	} {
		b.Run(p.name, func(b *testing.B) {
			took := make([]time.Duration, 0, b.N)
			for b.Loop() {
				if p.recount {
					s.Clock.Advance(service.DashboardStale)
				}
				start := time.Now()
				if code, body := br.get(p.path); code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", p.path, code, body)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// seed writes n instances of the contract, last seen over the past day.
func seed(b *testing.B, path, tenant, contract string, n int, now time.Time) {
	b.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	nowUS := now.UnixMicro()
	_, err = db.ExecContext(context.Background(), `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?4)
INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr,
  first_seen_at, last_seen_at, license_id, license_expires_at, clone_suspected_at, last_seen_hour, license_expires_hour)
SELECT ?1, ?2, 'i-' || i, 0, 'production', 'host-' || (i % 997), '10.0.0.1',
  ?3 - 86400000000, ?3 - (i % 86400) * 1000000, 'lic-' || i, ?3 + 14 * 86400000000, 0,
  (?3 - (i % 86400) * 1000000) / 3600000000, (?3 + 14 * 86400000000) / 3600000000 FROM n`,
		tenant, contract, nowUS, n)
	if err != nil {
		b.Fatalf("seed %d instances: %v", n, err)
	}
}
