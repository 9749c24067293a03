package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// ListUsageEvents over a pool of two features: first each feature's last
// event before the range (by feature), then the range in commit order,
// whichever feature each event is of.
func testUsageFeatures(t *testing.T, open opener) {
	s := open(t)
	w := newCapWorld(t, s, "Acme")
	a, err := s.TakeCapabilities(w.ctx, w.take("a", t0, time.Hour, u("gpu", 1), u("solver", 2)))
	must(t, "TakeCapabilities a", err)
	_, err = s.TakeCapabilities(w.ctx, w.take("b", at(2*time.Minute), time.Hour, u("solver", 3)))
	must(t, "TakeCapabilities b", err)
	_, _, err = s.ReturnCapabilities(w.ctx, licensor.LeaseReturn{LeaseID: a.Lease.ID, ContractID: w.contract.ID, InstanceID: "a", Now: at(3 * time.Minute)})
	must(t, "ReturnCapabilities a", err)
	_, err = s.TakeCapabilities(w.ctx, w.take("c", at(4*time.Minute), time.Hour, u("gpu", 1)))
	must(t, "TakeCapabilities c", err)

	evs, err := s.ListUsageEvents(w.ctx, licensor.UsageQuery{PoolID: w.pool.ID, Since: at(time.Minute), Until: at(time.Hour)})
	must(t, "ListUsageEvents", err)
	var got []string
	var last int64
	for i, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %d/%d", e.Feature, e.Kind, e.Units, e.InUse))
		if i >= 2 {
			if e.Seq <= last {
				t.Errorf("event %d: seq %d after %d, want commit order", i, e.Seq, last)
			}
			last = e.Seq
		}
	}
	eq(t, "events", fmt.Sprint(got), "[gpu grant 1/1 solver grant 2/2 solver grant 3/5 gpu return 1/0 solver return 2/3 gpu grant 1/1]")
}
