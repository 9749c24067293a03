package sqlite

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// BenchmarkCheckinConcurrent refreshes existing instances from 64
// goroutines, as a busy server's handlers do: the case group commit is for.
func BenchmarkCheckinConcurrent(b *testing.B) {
	const instances = 1000
	db, _ := openTempB(b)
	ctx, c := benchContract(b, db, instances)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) % instances
			if _, err := db.Checkin(ctx, benchCheckin(c.ID, i, time.Now())); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCheckinNew checks in instances never seen, each taking a seat,
// from 64 goroutines: a surge after an outage of a fleet the server has not
// met yet.
func BenchmarkCheckinNew(b *testing.B) {
	db, _ := openTempB(b)
	ctx, c := benchContract(b, db, 0)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			if _, err := db.Checkin(ctx, benchCheckin(c.ID, i, time.Now())); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTokenByHash authenticates a token from parallel goroutines: the
// read every call makes unless the service's cache holds the token.
func BenchmarkTokenByHash(b *testing.B) {
	db, _ := openTempB(b)
	ctx, c := benchContract(b, db, 0)
	_, hash := licensor.NewTokenSecret(licensor.RoleContract)
	if err := db.CreateToken(ctx, &licensor.Token{Role: licensor.RoleContract, ContractID: c.ID, Hash: hash}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.TokenByHash(ctx, hash); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
