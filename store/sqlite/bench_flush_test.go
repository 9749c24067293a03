package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// BenchmarkFlushRefreshes writes queued refreshes of remembered instances:
// per iteration, one refresh of each of 1,000 instances is queued (timer
// stopped) and one flush writes them (timed); rows/op is the flushed rows,
// so ns/op ÷ 1000 is the write-behind's cost per refreshed row, and
// cpu-ns/row the process's CPU time (user and system) per flushed row,
// which other load on the machine inflates less than the wall time.
// SameHour refreshes within the hour of the last check-in, the common
// case; NewHour moves every check-in an hour on, so that each refresh
// starts a new hour of last check-in and of license expiry.
func BenchmarkFlushRefreshes(b *testing.B) {
	const instances = 1000
	for _, tc := range []struct {
		name string
		step time.Duration // between the rounds of refreshes
	}{
		{"SameHour", time.Microsecond},
		{"NewHour", time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db, _ := openTempB(b, WithFlushInterval(time.Hour))
			ctx, c := benchContract(b, db, instances)
			tid, _ := licensor.TenantFrom(ctx)
			now := time.Now()
			if err := db.flushPending(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var cpu time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				now = now.Add(tc.step)
				for i := range instances {
					if _, ok, err := db.checkinBehind(context.Background(), tid, benchCheckin(c.ID, i, now), now.UnixMicro(), 0); err != nil || !ok {
						b.Fatalf("queue refresh %d: got %v, %v, want it queued", i, ok, err)
					}
				}
				b.StartTimer()
				before := cpuTime()
				if err := db.flushPending(); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - before
			}
			b.ReportMetric(instances, "rows/op")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*instances), "cpu-ns/row")
		})
	}
}
