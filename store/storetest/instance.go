package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func seatsUsed(t *testing.T, s licensor.Store, ctx context.Context, contractID string) int {
	t.Helper()
	c, err := s.GetContract(ctx, contractID)
	must(t, "GetContract", err)
	return c.SeatsUsed
}

func getInstance(t *testing.T, s licensor.Store, ctx context.Context, contractID, id string) *licensor.Instance {
	t.Helper()
	i, err := s.GetInstance(ctx, contractID, id)
	must(t, "GetInstance "+id, err)
	return i
}

func testInstances(t *testing.T, open opener) {
	t.Run("CheckinNew", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 3, nil)
		in := checkin(c.ID, "node-1", t0)
		got, err := s.Checkin(ctx, in)
		must(t, "Checkin", err)
		want := &licensor.Instance{
			TenantID: ten.ID, ContractID: c.ID, ID: "node-1", Seat: true, Environment: "production",
			Host: in.Host, RemoteAddr: in.RemoteAddr, FirstSeenAt: t0, LastSeenAt: t0,
			LicenseID: in.LicenseID, LicenseExpiresAt: in.LicenseExpiresAt,
		}
		checkInstance(t, "Checkin result", got, want)
		checkInstance(t, "GetInstance", getInstance(t, s, ctx, c.ID, "node-1"), want)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 1)
	})

	t.Run("CheckinRefresh", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 3, nil)
		first := checkin(c.ID, "node-1", t0)
		_, err := s.Checkin(ctx, first)
		must(t, "Checkin", err)
		again := checkin(c.ID, "node-1", at(2*time.Hour))
		again.Host = first.Host
		again.Environment = "staging"
		again.RemoteAddr = "198.51.100.7:5000"
		got, err := s.Checkin(ctx, again)
		must(t, "Checkin again", err)
		want := &licensor.Instance{
			TenantID: c.TenantID, ContractID: c.ID, ID: "node-1", Seat: true, Environment: "staging",
			Host: first.Host, RemoteAddr: again.RemoteAddr, FirstSeenAt: t0, LastSeenAt: at(2 * time.Hour),
			LicenseID: again.LicenseID, LicenseExpiresAt: again.LicenseExpiresAt,
		}
		checkInstance(t, "Checkin result", got, want)
		checkInstance(t, "GetInstance", getInstance(t, s, ctx, c.ID, "node-1"), want)
		eq(t, "SeatsUsed after a refresh", seatsUsed(t, s, ctx, c.ID), 1)
	})

	t.Run("CheckinOverLimit", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 2, nil)
		for _, id := range []string{"a", "b"} {
			_, err := s.Checkin(ctx, checkin(c.ID, id, t0))
			must(t, "Checkin "+id, err)
		}
		_, err := s.Checkin(ctx, checkin(c.ID, "c", t0))
		wantCode(t, "Checkin over the limit", err, licensor.EEXHAUSTED)
		_, err = s.GetInstance(ctx, c.ID, "c")
		wantCode(t, "GetInstance of the refused instance", err, licensor.ENOTFOUND)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 2)
		// Holders still refresh when the contract is full.
		_, err = s.Checkin(ctx, checkin(c.ID, "a", at(time.Hour)))
		must(t, "Checkin refresh at the limit", err)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 2)
	})

	t.Run("CheckinLimitFromContract", func(t *testing.T) {
		// The contract as stored decides how many seats there are.
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 1, nil)
		in := checkin(c.ID, "a", t0)
		_, err := s.Checkin(ctx, in)
		must(t, "Checkin a", err)
		in = checkin(c.ID, "b", t0)
		_, err = s.Checkin(ctx, in)
		wantCode(t, "Checkin b", err, licensor.EEXHAUSTED)
	})

	t.Run("CheckinUnlimited", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			_, err := s.Checkin(ctx, checkin(c.ID, id, t0))
			must(t, "Checkin "+id, err)
		}
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 5)
	})

	t.Run("CheckinWithoutSeat", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 1, nil)
		_, err := s.Checkin(ctx, checkin(c.ID, "prod", t0))
		must(t, "Checkin prod", err)
		for _, id := range []string{"staging", "dev"} {
			in := checkin(c.ID, id, t0)
			in.TakesSeat = false
			in.Environment = id
			got, err := s.Checkin(ctx, in)
			must(t, "Checkin "+id+" on a full contract", err)
			eq(t, id+" Seat", got.Seat, false)
		}
		// A holder checking in without taking a seat keeps the one it has.
		in := checkin(c.ID, "prod", at(time.Hour))
		in.TakesSeat = false
		got, err := s.Checkin(ctx, in)
		must(t, "Checkin prod without a seat", err)
		eq(t, "prod Seat", got.Seat, true)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 1)
	})

	t.Run("ReleaseSeat", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 2, nil)
		for _, id := range []string{"keeper", "a"} {
			_, err := s.Checkin(ctx, checkin(c.ID, id, t0))
			must(t, "Checkin "+id, err)
		}
		must(t, "ReleaseSeat a", s.ReleaseSeat(ctx, c.ID, "a"))
		eq(t, "SeatsUsed after release", seatsUsed(t, s, ctx, c.ID), 1)
		eq(t, "a Seat after release", getInstance(t, s, ctx, c.ID, "a").Seat, false)
		must(t, "ReleaseSeat a again", s.ReleaseSeat(ctx, c.ID, "a"))
		eq(t, "SeatsUsed after releasing twice", seatsUsed(t, s, ctx, c.ID), 1)

		got, err := s.Checkin(ctx, checkin(c.ID, "b", at(time.Minute)))
		must(t, "Checkin b into the freed seat", err)
		eq(t, "b Seat", got.Seat, true)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 2)

		// a competes again, finds no seat, and nothing about it changes.
		_, err = s.Checkin(ctx, checkin(c.ID, "a", at(time.Hour)))
		wantCode(t, "Checkin a on a full contract", err, licensor.EEXHAUSTED)
		a := getInstance(t, s, ctx, c.ID, "a")
		eq(t, "a Seat", a.Seat, false)
		checkTime(t, "a LastSeenAt after a refused check-in", a.LastSeenAt, t0)

		must(t, "ReleaseSeat b", s.ReleaseSeat(ctx, c.ID, "b"))
		got, err = s.Checkin(ctx, checkin(c.ID, "a", at(2*time.Hour)))
		must(t, "Checkin a after b released", err)
		eq(t, "a Seat", got.Seat, true)
		checkTime(t, "a FirstSeenAt", got.FirstSeenAt, t0)
		checkTime(t, "a LastSeenAt", got.LastSeenAt, at(2*time.Hour))
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 2)

		wantCode(t, "ReleaseSeat of an unknown instance", s.ReleaseSeat(ctx, c.ID, "nobody"), licensor.ENOTFOUND)
		wantCode(t, "ReleaseSeat of an unknown contract",
			s.ReleaseSeat(ctx, licensor.NewID(licensor.PrefixContract), "a"), licensor.ENOTFOUND)
	})

	t.Run("CloneSuspected", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		in := func(id, host string, now time.Time) *licensor.Instance {
			t.Helper()
			ci := checkin(c.ID, id, now)
			ci.Host = host
			got, err := s.Checkin(ctx, ci)
			must(t, "Checkin "+id, err)
			return got
		}
		in("vm", "host-a", t0)
		checkTime(t, "same host", in("vm", "host-a", at(time.Minute)).CloneSuspectedAt, time.Time{})
		got := in("vm", "host-b", at(2*time.Minute))
		checkTime(t, "other host within the window", got.CloneSuspectedAt, at(2*time.Minute))
		eq(t, "Host", got.Host, "host-b")
		checkTime(t, "stored", getInstance(t, s, ctx, c.ID, "vm").CloneSuspectedAt, at(2*time.Minute))
		checkTime(t, "kept by a later same-host check-in", in("vm", "host-b", at(3*time.Minute)).CloneSuspectedAt, at(2*time.Minute))

		in("moved", "host-a", t0)
		checkTime(t, "other host after the window", in("moved", "host-b", at(3*time.Hour)).CloneSuspectedAt, time.Time{})
	})

	t.Run("CheckinUnknownContract", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		for _, takes := range []bool{true, false} {
			in := checkin(licensor.NewID(licensor.PrefixContract), "a", t0)
			in.TakesSeat = takes
			_, err := s.Checkin(ctx, in)
			wantCode(t, "Checkin", err, licensor.ENOTFOUND)
		}
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		_, err := s.GetInstance(ctx, c.ID, "nobody")
		wantCode(t, "GetInstance", err, licensor.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c1 := newContract(t, s, ctx, 0, nil)
		c2 := newContract(t, s, ctx, 0, nil)
		names := []string{"node-3", "node-1", "node-2", "node-5", "node-4"}
		for _, c := range []*licensor.Contract{c1, c2} {
			for _, id := range names {
				_, err := s.Checkin(ctx, checkin(c.ID, id, t0))
				must(t, "Checkin", err)
			}
		}
		id := func(x *licensor.Instance) string { return x.ContractID + " " + x.ID }
		list := func(contract string) func(o licensor.ListOptions) ([]*licensor.Instance, error) {
			return func(o licensor.ListOptions) ([]*licensor.Instance, error) {
				return s.ListInstances(ctx, licensor.InstanceFilter{ContractID: contract, ListOptions: o})
			}
		}
		var want1, wantAll []string
		for _, n := range sorted(names) {
			want1 = append(want1, c1.ID+" "+n)
		}
		for _, c := range sorted([]string{c1.ID, c2.ID}) {
			for _, n := range sorted(names) {
				wantAll = append(wantAll, c+" "+n)
			}
		}
		checkPaging(t, "ListInstances of a contract", 2, want1, list(c1.ID), func(x *licensor.Instance) string { return x.ID }, id)
		checkPaging(t, "ListInstances of the tenant", 3, wantAll, list(""), id, id)
	})
}

func checkInstance(t *testing.T, what string, got, want *licensor.Instance) {
	t.Helper()
	eq(t, what+": TenantID", got.TenantID, want.TenantID)
	eq(t, what+": ContractID", got.ContractID, want.ContractID)
	eq(t, what+": ID", got.ID, want.ID)
	eq(t, what+": Seat", got.Seat, want.Seat)
	eq(t, what+": Environment", got.Environment, want.Environment)
	eq(t, what+": Host", got.Host, want.Host)
	eq(t, what+": RemoteAddr", got.RemoteAddr, want.RemoteAddr)
	checkTime(t, what+": FirstSeenAt", got.FirstSeenAt, want.FirstSeenAt)
	checkTime(t, what+": LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	eq(t, what+": LicenseID", got.LicenseID, want.LicenseID)
	checkTime(t, what+": LicenseExpiresAt", got.LicenseExpiresAt, want.LicenseExpiresAt)
	checkTime(t, what+": CloneSuspectedAt", got.CloneSuspectedAt, want.CloneSuspectedAt)
}
