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

func testContracts(t *testing.T, open opener) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 25, func(c *licensor.Contract) {
			c.EndsAt = at(365 * 24 * time.Hour)
			c.LicenseValidity = 10 * 24 * time.Hour
			c.RefreshInterval = 3 * time.Hour
			c.SeatRule = licensor.SeatProductionURL
			c.Fallback = licensor.FallbackPerpetual
			c.MaxBorrow = 48 * time.Hour
			c.ClientCAPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
			c.Status = licensor.ContractSuspended
			c.UpdatedAt = at(time.Second)
		})
		eq(t, "Version written back", c.Version, int64(1))
		eq(t, "TenantID written back", c.TenantID, ten.ID)
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		want := *c
		want.Version, want.SeatsUsed = 1, 0
		checkContract(t, got, &want)
	})

	t.Run("CreateNoFeatures", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, func(c *licensor.Contract) { c.Features = nil })
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		eq(t, "len(Features)", len(got.Features), 0)
		checkTime(t, "EndsAt", got.EndsAt, time.Time{})
	})

	t.Run("UnknownReferences", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		cu := newCustomer(t, s, ctx, "Globex")
		p := newProduct(t, s, ctx, "Solver")
		for _, tc := range []struct{ name, customer, product string }{
			{"UnknownCustomer", licensor.NewID(licensor.PrefixCustomer), p.ID},
			{"UnknownProduct", cu.ID, licensor.NewID(licensor.PrefixProduct)},
		} {
			c := &licensor.Contract{ID: licensor.NewID(licensor.PrefixContract), CustomerID: tc.customer, ProductID: tc.product, StartsAt: t0}
			must(t, "Validate", c.Validate())
			wantCode(t, tc.name, s.CreateContract(ctx, c), licensor.ENOTFOUND)
			_, err := s.GetContract(ctx, c.ID)
			wantCode(t, tc.name+": GetContract", err, licensor.ENOTFOUND)
		}
	})

	t.Run("DuplicateID", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 1, nil)
		dup := *c
		dup.Name = "Other"
		dup.Features = nil
		wantCode(t, "CreateContract with a taken id", s.CreateContract(ctx, &dup), licensor.ECONFLICT)
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		eq(t, "Name", got.Name, c.Name)
		eq(t, "len(Features)", len(got.Features), 2)
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		_, err := s.GetContract(ctx, licensor.NewID(licensor.PrefixContract))
		wantCode(t, "GetContract", err, licensor.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		var all, ofFirst, ended []string
		var first string
		for i := range 6 {
			c := newContract(t, s, ctx, 0, func(c *licensor.Contract) {
				if first != "" && i%2 == 0 {
					c.CustomerID = first
				}
				if i%3 == 0 {
					c.Status = licensor.ContractEnded
				}
			})
			if first == "" {
				first = c.CustomerID
			}
			all = append(all, c.ID)
			if c.CustomerID == first {
				ofFirst = append(ofFirst, c.ID)
			}
			if c.Status == licensor.ContractEnded {
				ended = append(ended, c.ID)
			}
		}
		id := func(x *licensor.Contract) string { return x.ID }
		list := func(f licensor.ContractFilter) func(o licensor.ListOptions) ([]*licensor.Contract, error) {
			return func(o licensor.ListOptions) ([]*licensor.Contract, error) {
				f.ListOptions = o
				return s.ListContracts(ctx, f)
			}
		}
		checkPaging(t, "ListContracts by 4", 4, sorted(all), list(licensor.ContractFilter{}), id, id)
		checkPaging(t, "ListContracts of a customer", 2, sorted(ofFirst), list(licensor.ContractFilter{CustomerID: first}), id, id)
		checkPaging(t, "ListContracts ended", 1, sorted(ended), list(licensor.ContractFilter{Status: licensor.ContractEnded}), id, id)
		got, err := s.ListContracts(ctx, licensor.ContractFilter{})
		must(t, "ListContracts", err)
		for _, c := range got {
			if len(c.Features) != 2 {
				t.Errorf("ListContracts: contract %s: got %d features, want 2", c.ID, len(c.Features))
			}
			eq(t, "Version", c.Version, int64(1))
		}
	})

	t.Run("StatusFilterFollowsTheClock", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		day := 24 * time.Hour
		names := map[string]string{}
		mk := func(name string, edit func(c *licensor.Contract)) {
			c := newContract(t, s, ctx, 0, edit)
			names[c.ID] = name
		}
		mk("open", nil)
		mk("ends+1d", func(c *licensor.Contract) { c.EndsAt = at(day) })
		mk("suspended-ends+10d", func(c *licensor.Contract) { c.Status = licensor.ContractSuspended; c.EndsAt = at(10 * day) })
		mk("starts+5d", func(c *licensor.Contract) { c.StartsAt = at(5 * day) })
		mk("ended", func(c *licensor.Contract) { c.Status = licensor.ContractEnded; c.EndsAt = at(-time.Hour) })
		end := at(day).Truncate(time.Microsecond) // as stored
		for _, tc := range []struct {
			name string
			now  time.Time
			want map[licensor.ContractStatus]string
		}{
			{"Now", t0, map[licensor.ContractStatus]string{
				licensor.ContractActive: "[ends+1d open]", licensor.ContractEnded: "[ended]",
				licensor.ContractSuspended: "[suspended-ends+10d]", licensor.ContractScheduled: "[starts+5d]"}},
			{"AtTheEnd", end, map[licensor.ContractStatus]string{
				licensor.ContractActive: "[open]", licensor.ContractEnded: "[ended ends+1d]",
				licensor.ContractSuspended: "[suspended-ends+10d]", licensor.ContractScheduled: "[starts+5d]"}},
			{"JustBeforeTheEnd", end.Add(-time.Microsecond), map[licensor.ContractStatus]string{
				licensor.ContractActive: "[ends+1d open]", licensor.ContractEnded: "[ended]"}},
			{"AfterTheStart", at(6 * day), map[licensor.ContractStatus]string{
				licensor.ContractActive: "[open starts+5d]", licensor.ContractScheduled: "[]"}},
			{"PastTheSuspendedEnd", at(11 * day), map[licensor.ContractStatus]string{
				licensor.ContractSuspended: "[]", licensor.ContractEnded: "[ended ends+1d suspended-ends+10d]"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				now := tc.now.Truncate(time.Microsecond)
				seen := 0
				for _, st := range licensor.ContractStatuses {
					cs, err := s.ListContracts(ctx, licensor.ContractFilter{Status: st, Now: now})
					must(t, "ListContracts "+string(st), err)
					seen += len(cs)
					var got []string
					for _, c := range cs {
						if c.StatusAt(now) != st {
							t.Errorf("status %s: contract %s shows %s at %s", st, names[c.ID], c.StatusAt(now), now)
						}
						got = append(got, names[c.ID])
					}
					sort.Strings(got)
					if want, ok := tc.want[st]; ok {
						sorted := fmt.Sprint(got)
						wantSorted := strings.Fields(strings.Trim(want, "[]"))
						sort.Strings(wantSorted)
						eq(t, "contracts "+string(st), sorted, fmt.Sprint(wantSorted))
					}
				}
				eq(t, "contracts in some status", seen, len(names))
			})
		}
		_, err := s.ListContracts(ctx, licensor.ContractFilter{Status: "bogus", Now: t0})
		wantCode(t, "ListContracts status bogus", err, licensor.EINVALID)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 5, nil)
		must(t, "Checkin", checkinErr(s, ctx, checkin(c.ID, "node-1", t0)))
		next := *c
		next.Name = "Enterprise Plus"
		next.EndsAt = at(48 * time.Hour)
		next.MaxSeats = 7
		next.Status = licensor.ContractSuspended
		next.RefreshInterval = time.Hour
		next.Features = []licensor.Entitlement{{Feature: "gpu", Kind: licensor.FeatureCounted, Count: 4}}
		next.SeatsUsed = 0 // the store keeps the count; a caller cannot set it
		next.UpdatedAt = at(time.Hour)
		must(t, "UpdateContract", s.UpdateContract(ctx, &next))
		eq(t, "Version in the struct", next.Version, int64(2))
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		want := next
		want.CreatedAt = c.CreatedAt
		want.SeatsUsed = 1
		checkContract(t, got, &want)
		eq(t, "SeatsUsed in the struct", next.SeatsUsed, 1)

		again := *got
		again.Features = nil
		must(t, "UpdateContract to no features", s.UpdateContract(ctx, &again))
		got, err = s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		eq(t, "Version", got.Version, int64(3))
		eq(t, "len(Features)", len(got.Features), 0)
	})

	t.Run("UpdateStale", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 5, nil)
		a, b := *c, *c
		a.Name = "first"
		must(t, "UpdateContract (first writer)", s.UpdateContract(ctx, &a))
		b.Name = "second"
		b.Features = nil
		wantCode(t, "UpdateContract with a stale version", s.UpdateContract(ctx, &b), licensor.ECONFLICT)
		eq(t, "Version of the loser", b.Version, int64(1))
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		eq(t, "Name", got.Name, "first")
		eq(t, "Version", got.Version, int64(2))
		eq(t, "len(Features)", len(got.Features), 2)
	})

	t.Run("UpdateUnknown", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 5, nil)
		ghost := *c
		ghost.ID = licensor.NewID(licensor.PrefixContract)
		wantCode(t, "UpdateContract", s.UpdateContract(ctx, &ghost), licensor.ENOTFOUND)
	})
}

func checkinErr(s licensor.Store, ctx context.Context, c licensor.Checkin) error {
	_, err := s.Checkin(ctx, c)
	return err
}

func checkContract(t *testing.T, got, want *licensor.Contract) {
	t.Helper()
	eq(t, "ID", got.ID, want.ID)
	eq(t, "TenantID", got.TenantID, want.TenantID)
	eq(t, "CustomerID", got.CustomerID, want.CustomerID)
	eq(t, "ProductID", got.ProductID, want.ProductID)
	eq(t, "Name", got.Name, want.Name)
	eq(t, "Status", got.Status, want.Status)
	checkTime(t, "StartsAt", got.StartsAt, want.StartsAt)
	checkTime(t, "EndsAt", got.EndsAt, want.EndsAt)
	eq(t, "LicenseValidity", got.LicenseValidity, want.LicenseValidity)
	eq(t, "RefreshInterval", got.RefreshInterval, want.RefreshInterval)
	eq(t, "SeatRule", got.SeatRule, want.SeatRule)
	eq(t, "MaxSeats", got.MaxSeats, want.MaxSeats)
	eq(t, "SeatsUsed", got.SeatsUsed, want.SeatsUsed)
	eq(t, "Fallback", got.Fallback, want.Fallback)
	eq(t, "MaxBorrow", got.MaxBorrow, want.MaxBorrow)
	eq(t, "ClientCAPEM", got.ClientCAPEM, want.ClientCAPEM)
	eq(t, "Version", got.Version, want.Version)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if len(got.Features) != len(want.Features) {
		t.Errorf("Features: got %v, want %v", got.Features, want.Features)
		return
	}
	for i := range want.Features {
		if got.Features[i] != want.Features[i] {
			t.Errorf("Features[%d]: got %+v, want %+v", i, got.Features[i], want.Features[i])
		}
	}
}
