package storetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testInstanceHours covers the queries on the indexes that hold the hour
// of an instance's last check-in and license expiry: bounds inside an hour
// are exact, a refresh within the hour moves the exact time those bounds
// see, a refresh into a new hour moves the instance's hour, and the
// instance search orders an hour's instances by ids.
func testInstanceHours(t *testing.T, open opener) {
	s := open(t)
	ctx, _ := scope(t, s, "Acme")
	c := newContract(t, s, ctx, 0, nil)
	hour := t0.Truncate(time.Hour)
	in := func(d time.Duration) time.Time { return hour.Add(d) }
	ci := func(id string, seen time.Time) {
		t.Helper()
		_, err := s.Checkin(ctx, checkin(c.ID, id, seen)) // expires 14 days after seen
		must(t, "Checkin "+id, err)
	}
	// Ids in another order than their check-ins, all in one hour.
	for _, x := range []struct {
		id  string
		min time.Duration
	}{{"d", 10}, {"b", 20}, {"c", 30}, {"a", 40}} {
		ci(x.id, in(x.min*time.Minute))
	}
	search := func(q licensor.InstanceSearch) string {
		t.Helper()
		var out []string
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("SearchInstances: more than 10 pages")
			}
			is, next, err := s.SearchInstances(ctx, q)
			must(t, "SearchInstances", err)
			out = append(out, ids(is, func(i *licensor.Instance) string { return i.ID })...)
			if next == "" {
				return strings.Join(out, " ")
			}
			q.Cursor = next
		}
	}
	check := func(what string, q licensor.InstanceSearch, want string) {
		t.Helper()
		q.Limit = 1
		if got := search(q); got != want {
			t.Errorf("SearchInstances %s: got %q, want %q", what, got, want)
		}
	}
	check("of one hour", licensor.InstanceSearch{}, "d c b a")
	check("seen from :20 to :40", licensor.InstanceSearch{SeenSince: in(20 * time.Minute), SeenBefore: in(40 * time.Minute)}, "c b")

	ci("d", in(50*time.Minute)) // the same hour: only the exact time moves
	check("seen since :45", licensor.InstanceSearch{SeenSince: in(45 * time.Minute)}, "d")
	check("seen before :45", licensor.InstanceSearch{SeenBefore: in(45 * time.Minute)}, "c b a")
	ci("b", in(70*time.Minute)) // the next hour
	check("after a check-in in the next hour", licensor.InstanceSearch{}, "b d c a")
	check("seen since the next hour", licensor.InstanceSearch{SeenSince: in(time.Hour)}, "b")
	check("seen before :45", licensor.InstanceSearch{SeenBefore: in(45 * time.Minute)}, "c a")

	// Licenses expire 14 days after the check-in: c at :30, a at :40, d at
	// :50, b at 1:10.
	exp := in(licensor.DefaultLicenseValidity)
	sorted := func(is []*licensor.Instance) string {
		out := ids(is, func(i *licensor.Instance) string { return i.ID })
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		before time.Duration
		want   string
	}{{35 * time.Minute, "[c]"}, {45 * time.Minute, "[a c]"}, {time.Hour, "[a c d]"}, {2 * time.Hour, "[a b c d]"}} {
		is, err := s.ExpiringInstances(ctx, in(2*time.Hour), exp.Add(tc.before), 100)
		must(t, "ExpiringInstances", err)
		eq(t, fmt.Sprintf("expiring before %s", tc.before), sorted(is), tc.want)
	}
	d, err := s.Dashboard(ctx, exp.Add(45*time.Minute))
	must(t, "Dashboard", err)
	eq(t, "ActiveInstances at expiry hour :45", d.ActiveInstances, int64(2))
	hist, err := s.LicenseExpiryHistogram(ctx, in(2*time.Hour), []time.Time{exp.Add(35 * time.Minute), exp.Add(time.Hour)})
	must(t, "LicenseExpiryHistogram", err)
	eq(t, "histogram at :35 and the next hour", fmt.Sprint(hist), "[1 2 1]")
	// Silent: not seen for 3 refresh intervals (6h) as of 6:35, so before :35.
	sil, err := s.SilentInstances(ctx, in(6*time.Hour+35*time.Minute), 3, 100)
	must(t, "SilentInstances", err)
	eq(t, "silent since :35", sorted(sil), "[c]")
}
