package postgres_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
)

// BenchmarkRefresh: 64 goroutines refresh 1,000 known instances through
// the store, one statement per refresh against combined refreshes.
func BenchmarkRefresh(b *testing.B) {
	for _, combined := range []bool{false, true} {
		b.Run(fmt.Sprintf("combined=%v", combined), func(b *testing.B) {
			db := pgtest.Open(b)
			db.SetCombineRefreshes(combined)
			ctx, contractID := seedContract(b, db, 0)
			t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			const instances = 1000
			for i := range instances {
				if _, err := db.Checkin(ctx, licensor.Checkin{ContractID: contractID, InstanceID: fmt.Sprint("i-", i), TakesSeat: true,
					Now: t0, LicenseID: "lic_0", LicenseExpiresAt: t0.Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := n.Add(1)
					if _, err := db.Checkin(ctx, licensor.Checkin{ContractID: contractID, InstanceID: fmt.Sprint("i-", k%instances), TakesSeat: true,
						Now: t0.Add(time.Duration(k) * time.Millisecond), LicenseID: "lic_1", LicenseExpiresAt: t0.Add(2 * time.Hour)}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}
