package sqlite

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// BenchmarkTakeReturn is the store's half of a capability cycle: take one
// unit of a floating feature, then return the whole lease. It is what the
// single writer runs for every RequestCapabilities + ReturnCapabilities.
// Serial: one device; Parallel: 64 devices at once; RequestID:
// the same with an idempotency key on every request, as the client library
// sends.
func BenchmarkTakeReturn(b *testing.B) {
	db, _ := openTempB(b)
	ctx, c := benchContract(b, db, 0)
	p := &licensor.Pool{CustomerID: c.CustomerID, Name: "floating", LeaseTTL: time.Minute,
		Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 1_000_000}, {Feature: "gpu", MaxUnits: 10}}}
	if err := db.CreatePool(ctx, p); err != nil {
		b.Fatal(err)
	}
	cycle := func(b *testing.B, instance, requestID string) bool {
		now := time.Now()
		res, err := db.TakeCapabilities(ctx, licensor.Take{
			PoolID: p.ID, ContractID: c.ID, InstanceID: instance, Units: []licensor.Units{{Feature: "solver", Units: 1}},
			LeaseID: licensor.NewID(licensor.PrefixLease), Now: now, ExpiresAt: now.Add(time.Minute),
			RequestID: requestID, Fingerprint: "solver=1",
		})
		if err != nil || !res.Granted {
			b.Errorf("TakeCapabilities: got %+v, %v; want a grant", res, err)
			return false
		}
		if _, _, err := db.ReturnCapabilities(ctx, licensor.LeaseReturn{LeaseID: res.Lease.ID, ContractID: c.ID, InstanceID: instance, Now: time.Now()}); err != nil {
			b.Errorf("ReturnCapabilities: %v", err)
			return false
		}
		return true
	}
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if !cycle(b, "serial", "") {
				return
			}
		}
	})
	var n atomic.Int64
	parallel := func(withID bool) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			b.SetParallelism(32) // 64 devices on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				instance := fmt.Sprintf("device-%d", n.Add(1))
				i := 0
				for pb.Next() {
					id := ""
					if withID {
						i++
						id = fmt.Sprintf("%s-%d", instance, i)
					}
					if !cycle(b, instance, id) {
						return
					}
				}
			})
		}
	}
	b.Run("Parallel", parallel(false))
	b.Run("RequestID", parallel(true))
}

// reportCPU reports the process's CPU time per operation (user + system),
// which, unlike ns/op, does not grow when other work on a shared machine
// takes the CPUs. Call it at the start and defer what it returns.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
