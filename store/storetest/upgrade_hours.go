package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// Migration 0014 gives each instance the hours of its last check-in and
// license expiry, which the instance search, the expiry scan and the
// dashboard bound before the exact times: instances seen around an hour's
// start (a microsecond before it, at it, within it) are found as their
// exact times say, and a refresh within the hour after the upgrade is too.
// The hour starts at 2030-01-02 03:00 UTC, 1893553200000000 µs.
func testUpgradeInstanceHours(t *testing.T, up Upgrade) {
	const day = 86400000000
	hour := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	s, _ := up(t, 13, fmt.Sprintf(`
INSERT INTO tenants (id, name, concurrency_limit, queue_wait_ns, expiry_warning_ns, created_at, updated_at)
	VALUES ('ten_a', 'A', 60, 0, 3600000000000, 0, 0);
INSERT INTO products (tenant_id, id, name, created_at) VALUES ('ten_a', 'prd_a', 'P', 0);
INSERT INTO customers (tenant_id, id, name, email, created_at) VALUES ('ten_a', 'cus_a', 'C', '', 0);
INSERT INTO contracts (tenant_id, id, customer_id, product_id, name, status, starts_at, ends_at, license_validity_ns,
	refresh_interval_ns, seat_rule, max_seats, seats_used, fallback, max_borrow_ns, client_ca_pem, version, created_at, updated_at)
	VALUES ('ten_a', 'con_a', 'cus_a', 'prd_a', '', 'active', 0, 0, 1209600000000000, 7200000000000, 'instance', 0, 4, 'none', 604800000000000, '', 1, 0, 0);
INSERT INTO instances (tenant_id, contract_id, instance_id, seat, environment, host, remote_addr, first_seen_at, last_seen_at,
	license_id, license_expires_at, clone_suspected_at)
	VALUES ('ten_a', 'con_a', 'a', TRUE, 'production', 'h', '', 0, 1893553800000000, 'lic', 1893553800000000 + 14 * %[1]d, 0),
	       ('ten_a', 'con_a', 'b', TRUE, 'production', 'h', '', 0, 1893556200000000, 'lic', 1893556200000000 + 14 * %[1]d, 0),
	       ('ten_a', 'con_a', 'c', TRUE, 'production', 'h', '', 0, 1893553199999999, 'lic', 1893553199999999 + 14 * %[1]d, 0),
	       ('ten_a', 'con_a', 'd', TRUE, 'production', 'h', '', 0, 1893556800000000, 'lic', 1893556800000000 + 14 * %[1]d, 0);
`, day))
	// a at :10, b at :50, c a microsecond before the hour, d at the next.
	ctx := licensor.WithTenant(context.Background(), "ten_a")
	search := func(what string, q licensor.InstanceSearch, want string) {
		t.Helper()
		q.Limit = 100
		is, _, err := s.SearchInstances(ctx, q)
		must(t, "SearchInstances "+what, err)
		if got := strings.Join(ids(is, func(i *licensor.Instance) string { return i.ID }), " "); got != want {
			t.Errorf("SearchInstances %s: got %q, want %q", what, got, want)
		}
	}
	search("all", licensor.InstanceSearch{}, "d b a c")
	search("seen since :30", licensor.InstanceSearch{SeenSince: hour.Add(30 * time.Minute)}, "d b")
	search("seen since the hour", licensor.InstanceSearch{SeenSince: hour}, "d b a")
	search("seen before the hour", licensor.InstanceSearch{SeenBefore: hour}, "c")

	exp := hour.Add(licensor.DefaultLicenseValidity)
	is, err := s.ExpiringInstances(ctx, hour, exp.Add(30*time.Minute), 100)
	must(t, "ExpiringInstances", err)
	got := ids(is, func(i *licensor.Instance) string { return i.ID })
	sort.Strings(got)
	eq(t, "expiring before :30", fmt.Sprint(got), "[a c]")
	d, err := s.Dashboard(ctx, exp.Add(30*time.Minute))
	must(t, "Dashboard", err)
	eq(t, "ActiveInstances at :30", d.ActiveInstances, int64(2))

	_, err = s.Checkin(ctx, licensor.Checkin{ContractID: "con_a", InstanceID: "a", TakesSeat: true, Host: "h",
		Now: hour.Add(40 * time.Minute), LicenseID: "lic2", LicenseExpiresAt: exp.Add(40 * time.Minute)})
	must(t, "Checkin of a within its hour", err)
	search("seen since :30 after a's refresh", licensor.InstanceSearch{SeenSince: hour.Add(30 * time.Minute)}, "d b a")
}
