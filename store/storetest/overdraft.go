package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testOverdraft(t *testing.T, open opener) {
	s := open(t)
	w := newCapWorld(t, s, "Acme")
	p, err := s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, Features: []licensor.PoolFeature{{Feature: "gpu", MaxUnits: 2, Overdraft: 2}}})
	must(t, "ResizePool overdraft", err)
	eq(t, "features", fmt.Sprint(p.Features), "[{gpu 2 0 2 0} {solver 10 0 0 0}]")

	res, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Hour, u("gpu", 1)))
	must(t, "TakeCapabilities within the size", err)
	eq(t, "overage within the size", len(res.Lease.Overage), 0)
	over, err := s.TakeCapabilities(w.ctx, w.take("b", t0, time.Hour, u("gpu", 3)))
	must(t, "TakeCapabilities into the overdraft", err)
	eq(t, "Granted into the overdraft", over.Granted, true)
	eq(t, "Overage", fmt.Sprint(over.Lease.Overage), "[{gpu 2}]")
	l, err := s.GetLease(w.ctx, over.Lease.ID)
	must(t, "GetLease", err)
	eq(t, "stored Overage", fmt.Sprint(l.Overage), "[{gpu 2}]")
	eq(t, "gpu in use", w.inUse(t, "gpu"), int64(4))

	// Past size and overdraft: a denial that counts the overdraft as available.
	res, err = s.TakeCapabilities(w.ctx, w.take("c", t0, time.Hour, u("gpu", 1)))
	must(t, "TakeCapabilities past the overdraft", err)
	eq(t, "Granted past the overdraft", res.Granted, false)
	eq(t, "Shortage", fmt.Sprint(res.Shortages[0].Available, res.Shortages[0].Short), "0 1")

	// Given back in part, a lease keeps no more overage than it holds.
	left, _, err := s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: over.Lease.ID, ContractID: w.contract.ID, InstanceID: "b",
		Units: []licensor.Units{u("gpu", 2)}, Now: at(time.Minute)})
	must(t, "ReturnCapabilities in part", err)
	eq(t, "Overage after a partial return", fmt.Sprint(left.Overage), "[{gpu 1}]")

	// A resize keeps the overdraft unless told otherwise.
	p, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, Features: []licensor.PoolFeature{{Feature: "gpu", MaxUnits: 3, Overdraft: licensor.KeepOverdraft}}})
	must(t, "ResizePool keeping the overdraft", err)
	eq(t, "features after keeping", fmt.Sprint(p.Features), "[{gpu 3 2 2 0} {solver 10 0 0 0}]")
	p, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, Features: []licensor.PoolFeature{{Feature: "gpu", MaxUnits: 3}}})
	must(t, "ResizePool clearing the overdraft", err)
	eq(t, "features after clearing", fmt.Sprint(p.Features), "[{gpu 3 2 0 0} {solver 10 0 0 0}]")
	p, err = s.ResizePool(w.ctx, licensor.PoolResize{PoolID: w.pool.ID, Features: []licensor.PoolFeature{{Feature: "new", MaxUnits: 1, Overdraft: licensor.KeepOverdraft}}})
	must(t, "ResizePool adding a feature, keeping", err)
	eq(t, "features after adding", fmt.Sprint(p.Features), "[{gpu 3 2 0 0} {new 1 0 0 0} {solver 10 0 0 0}]")
}
