package storetest

import (
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testClones(t *testing.T, open opener) {
	t.Run("ByFingerprint", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		in := func(id, fp string, now time.Time) *licensor.Instance {
			t.Helper()
			ci := checkin(c.ID, id, now)
			ci.Host, ci.Fingerprint = "same-host", fp
			got, err := s.Checkin(ctx, ci)
			must(t, "Checkin "+id, err)
			return got
		}
		eq(t, "Fingerprint stored", in("vm", "fp-a", t0).Fingerprint, "fp-a")
		checkTime(t, "same machine", in("vm", "fp-a", at(time.Minute)).CloneSuspectedAt, time.Time{})
		got := in("vm", "", at(2*time.Minute))
		checkTime(t, "no fingerprint", got.CloneSuspectedAt, time.Time{})
		eq(t, "an empty fingerprint keeps the stored one", got.Fingerprint, "fp-a")
		got = in("vm", "fp-b", at(3*time.Minute))
		checkTime(t, "other machine within the window", got.CloneSuspectedAt, at(3*time.Minute))
		eq(t, "Fingerprint replaced", getInstance(t, s, ctx, c.ID, "vm").Fingerprint, "fp-b")
		in("moved", "fp-a", t0)
		checkTime(t, "other machine after the window", in("moved", "fp-b", at(3*time.Hour)).CloneSuspectedAt, time.Time{})

		cl, err := s.ClonedInstances(ctx, at(4*time.Hour), at(time.Minute), 100)
		must(t, "ClonedInstances", err)
		if len(cl) != 1 || cl[0].ID != "vm" {
			t.Errorf("ClonedInstances since the clone: got %v, want vm", ids(cl, func(i *licensor.Instance) string { return i.ID }))
		}
		cl, err = s.ClonedInstances(ctx, at(4*time.Hour), at(time.Hour), 100)
		must(t, "ClonedInstances later", err)
		eq(t, "ClonedInstances since after the clone", len(cl), 0)

		must(t, "FlagClone", s.FlagClone(ctx, c.ID, "moved", at(5*time.Hour)))
		checkTime(t, "flagged", getInstance(t, s, ctx, c.ID, "moved").CloneSuspectedAt, at(5*time.Hour))
		wantCode(t, "FlagClone of an unknown instance", s.FlagClone(ctx, c.ID, "nobody", at(5*time.Hour)), licensor.ENOTFOUND)
		other, _ := scope(t, s, "Globex")
		wantCode(t, "FlagClone of another tenant's instance", s.FlagClone(other, c.ID, "vm", at(5*time.Hour)), licensor.ENOTFOUND)
		cl, err = s.ClonedInstances(other, at(4*time.Hour), at(time.Minute), 100)
		must(t, "ClonedInstances of another tenant", err)
		eq(t, "ClonedInstances of another tenant", len(cl), 0)
	})

	t.Run("RefuseClonesStored", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, func(c *licensor.Contract) { c.RefuseClones = true })
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		eq(t, "RefuseClones after create", got.RefuseClones, true)
		got.RefuseClones = false
		must(t, "UpdateContract", s.UpdateContract(ctx, got))
		got, err = s.GetContract(ctx, c.ID)
		must(t, "GetContract after update", err)
		eq(t, "RefuseClones after update", got.RefuseClones, false)
	})
}
