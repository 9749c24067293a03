package metrics_test

import (
	"testing"
	"time"

	"github.com/licensor/licensor/metrics"
)

// The lock-wait counters carry what the store reports, by lock.
func TestRegisterLockWaits(t *testing.T) {
	m := metrics.New(metrics.Config{})
	if err := m.RegisterLockWaits(func() []metrics.LockWait {
		return []metrics.LockWait{
			{Kind: "pool", Transactions: 40, Waited: 1500 * time.Millisecond},
			{Kind: "contract", Transactions: 3},
		}
	}); err != nil {
		t.Fatal(err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			if lp := s.GetLabel(); len(lp) == 1 && lp[0].GetName() == "lock" {
				got[mf.GetName()+"/"+lp[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{
		"licensor_store_lock_transactions_total/pool":     40,
		"licensor_store_lock_wait_seconds_total/pool":     1.5,
		"licensor_store_lock_transactions_total/contract": 3,
		"licensor_store_lock_wait_seconds_total/contract": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: got %v (present %v), want %v", k, g, ok, v)
		}
	}
}
