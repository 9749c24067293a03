package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func sampleTelemetry(n int64) *licensor.Telemetry {
	return &licensor.Telemetry{
		ProductVersion: "2.4.1", RuntimeVersions: map[string]string{"go": "1.24.2", "postgres": "16.3"},
		Environment: "production", ServerHost: "web-1", ServerIP: "203.0.113.9", ServerPort: 8443, AppName: "shop",
		Usage: map[string]int64{"resources_count": n, "fields_per_resource": 12}, Labels: map[string]string{"region": "eu"},
	}
}

func checkinWith(contractID, instanceID string, now time.Time, tel *licensor.Telemetry) licensor.Checkin {
	c := checkin(contractID, instanceID, now)
	c.Telemetry = tel
	return c
}

func listTelemetry(t *testing.T, s licensor.Store, ctx context.Context, f licensor.TelemetryFilter) []*licensor.TelemetryPoint {
	t.Helper()
	ps, err := s.ListTelemetry(ctx, f)
	must(t, "ListTelemetry", err)
	return ps
}

func testTelemetry(t *testing.T, open opener) {
	t.Run("TenantSettings", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		got, err := s.GetTenant(ctx, ten.ID)
		must(t, "GetTenant", err)
		eq(t, "TelemetryRetention (default)", got.TelemetryRetention, licensor.DefaultTelemetryRetention)
		eq(t, "TruncateIPs (default)", got.TruncateIPs, false)
		eq(t, "len(TelemetryFieldsDropped) (default)", len(got.TelemetryFieldsDropped), 0)

		ten.TelemetryRetention = 30 * 24 * time.Hour
		ten.TelemetryFieldsDropped = []string{"labels", "server_host"}
		ten.TruncateIPs = true
		must(t, "UpdateTenant", s.UpdateTenant(ctx, ten))
		got, err = s.GetTenant(ctx, ten.ID)
		must(t, "GetTenant", err)
		eq(t, "TelemetryRetention", got.TelemetryRetention, 30*24*time.Hour)
		eq(t, "TruncateIPs", got.TruncateIPs, true)
		if !slices.Equal(got.TelemetryFieldsDropped, ten.TelemetryFieldsDropped) {
			t.Errorf("TelemetryFieldsDropped: got %v, want %v", got.TelemetryFieldsDropped, ten.TelemetryFieldsDropped)
		}
	})

	t.Run("LatestAndHistory", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		got, err := s.Checkin(ctx, checkinWith(c.ID, "a", t0, sampleTelemetry(10)))
		must(t, "Checkin", err)
		if !reflect.DeepEqual(got.Telemetry, sampleTelemetry(10)) {
			t.Errorf("Checkin result Telemetry: got %+v, want %+v", got.Telemetry, sampleTelemetry(10))
		}
		checkTime(t, "TelemetryAt", got.TelemetryAt, t0)
		_, err = s.Checkin(ctx, checkinWith(c.ID, "a", at(time.Hour), sampleTelemetry(20)))
		must(t, "Checkin 2", err)
		// A check-in without telemetry keeps the latest and adds no point.
		_, err = s.Checkin(ctx, checkin(c.ID, "a", at(2*time.Hour)))
		must(t, "Checkin without telemetry", err)
		a := getInstance(t, s, ctx, c.ID, "a")
		if !reflect.DeepEqual(a.Telemetry, sampleTelemetry(20)) {
			t.Errorf("GetInstance Telemetry: got %+v, want %+v", a.Telemetry, sampleTelemetry(20))
		}
		checkTime(t, "GetInstance TelemetryAt", a.TelemetryAt, at(time.Hour))
		list, err := s.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID})
		must(t, "ListInstances", err)
		if len(list) != 1 || !reflect.DeepEqual(list[0].Telemetry, sampleTelemetry(20)) {
			t.Errorf("ListInstances: got %+v, want one instance with the latest telemetry", list)
		}
		ps := listTelemetry(t, s, ctx, licensor.TelemetryFilter{ContractID: c.ID})
		eq(t, "points", len(ps), 2)
		if len(ps) == 2 {
			eq(t, "point 0 resources_count", ps[0].Telemetry.Usage["resources_count"], int64(10))
			eq(t, "point 1 resources_count", ps[1].Telemetry.Usage["resources_count"], int64(20))
			eq(t, "point InstanceID", ps[0].InstanceID, "a")
			eq(t, "point ContractID", ps[0].ContractID, c.ID)
			checkTime(t, "point 1 At", ps[1].At, at(time.Hour))
			if ps[0].ID == "" || ps[0].ID == ps[1].ID {
				t.Errorf("point ids: got %q and %q, want distinct ids", ps[0].ID, ps[1].ID)
			}
		}
		// A new instance without telemetry has none.
		b, err := s.Checkin(ctx, checkin(c.ID, "b", t0))
		must(t, "Checkin b", err)
		if b.Telemetry != nil {
			t.Errorf("b Telemetry: got %+v, want nil", b.Telemetry)
		}
	})

	t.Run("RefusedCheckinStoresNothing", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 1, nil)
		_, err := s.Checkin(ctx, checkinWith(c.ID, "a", t0, sampleTelemetry(1)))
		must(t, "Checkin a", err)
		_, err = s.Checkin(ctx, checkinWith(c.ID, "b", t0, sampleTelemetry(2)))
		wantCode(t, "Checkin b over the limit", err, licensor.EEXHAUSTED)
		ps := listTelemetry(t, s, ctx, licensor.TelemetryFilter{ContractID: c.ID})
		eq(t, "points after a refused check-in", len(ps), 1)
	})

	t.Run("FilterAndPaging", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		other := newContract(t, s, ctx, 0, nil)
		var wantAll, wantA []string
		for i := range 6 {
			id := []string{"a", "b"}[i%2]
			now := at(time.Duration(i) * time.Hour)
			_, err := s.Checkin(ctx, checkinWith(c.ID, id, now, sampleTelemetry(int64(i))))
			must(t, "Checkin", err)
			key := id + "@" + now.UTC().Format(time.RFC3339)
			wantAll = append(wantAll, key)
			if id == "a" {
				wantA = append(wantA, key)
			}
		}
		_, err := s.Checkin(ctx, checkinWith(other.ID, "a", t0, sampleTelemetry(99)))
		must(t, "Checkin other contract", err)
		key := func(p *licensor.TelemetryPoint) string { return p.InstanceID + "@" + p.At.Format(time.RFC3339) }
		cursor := func(p *licensor.TelemetryPoint) string { return p.Cursor() }
		list := func(f licensor.TelemetryFilter) func(o licensor.ListOptions) ([]*licensor.TelemetryPoint, error) {
			return func(o licensor.ListOptions) ([]*licensor.TelemetryPoint, error) {
				f.ListOptions = o
				return s.ListTelemetry(ctx, f)
			}
		}
		checkPaging(t, "contract by 4", 4, wantAll, list(licensor.TelemetryFilter{ContractID: c.ID}), cursor, key)
		checkPaging(t, "instance a by 2", 2, wantA, list(licensor.TelemetryFilter{ContractID: c.ID, InstanceID: "a"}), cursor, key)
		// [Since, Until): hours 1 to 3 inclusive.
		checkPaging(t, "time range", 10, wantAll[1:4],
			list(licensor.TelemetryFilter{ContractID: c.ID, Since: at(time.Hour), Until: at(4 * time.Hour)}), cursor, key)
		_, err = s.ListTelemetry(ctx, licensor.TelemetryFilter{ContractID: c.ID, ListOptions: licensor.ListOptions{After: "nonsense"}})
		wantCode(t, "ListTelemetry with a bad cursor", err, licensor.EINVALID)
	})

	t.Run("Prune", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		octx, _ := scope(t, s, "Other")
		c := newContract(t, s, ctx, 0, nil)
		oc := newContract(t, s, octx, 0, nil)
		for i := range 5 {
			_, err := s.Checkin(ctx, checkinWith(c.ID, "old", at(time.Duration(i)*time.Hour), sampleTelemetry(int64(i))))
			must(t, "Checkin old", err)
		}
		_, err := s.Checkin(ctx, checkinWith(c.ID, "new", at(10*time.Hour), sampleTelemetry(7)))
		must(t, "Checkin new", err)
		_, err = s.Checkin(octx, checkinWith(oc.ID, "x", t0, sampleTelemetry(1)))
		must(t, "Checkin other tenant", err)

		n, err := s.PruneTelemetry(ctx, at(3*time.Hour))
		must(t, "PruneTelemetry", err)
		eq(t, "pruned", n, int64(3))
		eq(t, "points left", len(listTelemetry(t, s, ctx, licensor.TelemetryFilter{ContractID: c.ID})), 3)
		// "old" last reported at 4h, after the cutoff: its latest stays.
		if getInstance(t, s, ctx, c.ID, "old").Telemetry == nil {
			t.Errorf("old Telemetry after pruning before its last report: got nil, want kept")
		}
		n, err = s.PruneTelemetry(ctx, at(5*time.Hour))
		must(t, "PruneTelemetry 2", err)
		eq(t, "pruned 2", n, int64(2))
		old := getInstance(t, s, ctx, c.ID, "old")
		if old.Telemetry != nil || !old.TelemetryAt.IsZero() {
			t.Errorf("old Telemetry after its last report was pruned: got %+v at %v, want none", old.Telemetry, old.TelemetryAt)
		}
		if getInstance(t, s, ctx, c.ID, "new").Telemetry == nil {
			t.Errorf("new Telemetry: got nil, want kept")
		}
		// Another tenant's history is untouched.
		eq(t, "other tenant's points", len(listTelemetry(t, s, octx, licensor.TelemetryFilter{ContractID: oc.ID})), 1)
		_, err = s.PruneTelemetry(context.Background(), at(time.Hour))
		wantCode(t, "PruneTelemetry without a scope", err, licensor.EINTERNAL)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		octx, _ := scope(t, s, "Other")
		c := newContract(t, s, ctx, 0, nil)
		_, err := s.Checkin(ctx, checkinWith(c.ID, "a", t0, sampleTelemetry(1)))
		must(t, "Checkin", err)
		eq(t, "points seen by another tenant", len(listTelemetry(t, s, octx, licensor.TelemetryFilter{ContractID: c.ID})), 0)
		_, err = s.ListTelemetry(context.Background(), licensor.TelemetryFilter{ContractID: c.ID})
		wantCode(t, "ListTelemetry without a scope", err, licensor.EINTERNAL)
	})

	t.Run("SeatHolders", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		for _, id := range []string{"p1", "s1", "p2"} {
			in := checkin(c.ID, id, t0)
			in.TakesSeat = id[0] == 'p'
			_, err := s.Checkin(ctx, in)
			must(t, "Checkin "+id, err)
		}
		got, err := s.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID, SeatHolders: true})
		must(t, "ListInstances", err)
		if ids := ids(got, func(i *licensor.Instance) string { return i.ID }); !slices.Equal(ids, []string{"p1", "p2"}) {
			t.Errorf("seat holders: got %v, want [p1 p2]", ids)
		}
	})
}
