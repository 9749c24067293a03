package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testReservations(t *testing.T, open opener) {
	s := open(t)
	w := newCapWorld(t, s, "Acme")
	must(t, "SetReservation", s.SetReservation(w.ctx, licensor.Reservation{PoolID: w.pool.ID, Feature: "solver", InstanceID: "vip", Units: 4}))
	err := s.SetReservation(w.ctx, licensor.Reservation{PoolID: w.pool.ID, Feature: "solver", InstanceID: "other", Units: 7})
	wantCode(t, "SetReservation beyond the size", err, licensor.EINVALID)
	err = s.SetReservation(w.ctx, licensor.Reservation{PoolID: w.pool.ID, Feature: "nope", InstanceID: "vip", Units: 1})
	wantCode(t, "SetReservation of a feature not in the pool", err, licensor.ENOTFOUND)
	p, err := s.GetPool(w.ctx, w.pool.ID)
	must(t, "GetPool", err)
	eq(t, "features", fmt.Sprint(p.Features), "[{gpu 2 0 0 0} {solver 10 0 0 4}]")

	reserved := func(instance string, now time.Time, n int64) licensor.Take {
		tk := w.take(instance, now, time.Hour, u("solver", n))
		tk.Reservations = true
		return tk
	}
	// Others get the 6 that are not reserved, and no more.
	res, err := s.TakeCapabilities(w.ctx, reserved("a", t0, 6))
	must(t, "TakeCapabilities of the unreserved", err)
	eq(t, "Granted the unreserved", res.Granted, true)
	res, err = s.TakeCapabilities(w.ctx, reserved("b", t0, 1))
	must(t, "TakeCapabilities of a reserved unit", err)
	eq(t, "Granted a reserved unit", res.Granted, false)
	eq(t, "Shortage", fmt.Sprint(res.Shortages[0].Available, res.Shortages[0].Short), "0 1")
	// The instance they are reserved for takes them.
	vip, err := s.TakeCapabilities(w.ctx, reserved("vip", t0, 3))
	must(t, "TakeCapabilities of the reservation", err)
	eq(t, "Granted the reservation", vip.Granted, true)

	rs, err := s.ListReservations(w.ctx, w.pool.ID, t0)
	must(t, "ListReservations", err)
	eq(t, "reservations", fmt.Sprintf("%d %s %d %d %d", len(rs), rs[0].InstanceID, rs[0].Units, rs[0].Held, rs[0].Unused()), "1 vip 4 3 1")
	// Its lease expired, the units are unused again.
	rs, err = s.ListReservations(w.ctx, w.pool.ID, at(2*time.Hour))
	must(t, "ListReservations after expiry", err)
	eq(t, "unused after expiry", rs[0].Unused(), int64(4))

	must(t, "SetReservation 0 removes", s.SetReservation(w.ctx, licensor.Reservation{PoolID: w.pool.ID, Feature: "solver", InstanceID: "vip"}))
	rs, err = s.ListReservations(w.ctx, w.pool.ID, t0)
	must(t, "ListReservations after removal", err)
	eq(t, "reservations after removal", len(rs), 0)
	res, err = s.TakeCapabilities(w.ctx, reserved("b", t0, 1))
	must(t, "TakeCapabilities with no reservation", err)
	eq(t, "Granted with no reservation", res.Granted, true)

	other := newCapWorld(t, s, "Other")
	_, err = s.ListReservations(other.ctx, w.pool.ID, t0)
	wantCode(t, "ListReservations of another tenant's pool", err, licensor.ENOTFOUND)
	err = s.SetReservation(other.ctx, licensor.Reservation{PoolID: w.pool.ID, Feature: "solver", InstanceID: "x", Units: 1})
	wantCode(t, "SetReservation on another tenant's pool", err, licensor.ENOTFOUND)
}
