package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// benchContract creates a tenant, a contract with two features and n
// instances holding seats on it.
func benchContract(b *testing.B, db *DB, n int) (context.Context, *licensor.Contract) {
	b.Helper()
	bg := context.Background()
	ten := &licensor.Tenant{Name: "Bench", ConcurrencyLimit: 60, ExpiryWarning: licensor.DefaultExpiryWarning}
	if err := db.CreateTenant(bg, ten); err != nil {
		b.Fatal(err)
	}
	ctx := licensor.WithTenant(bg, ten.ID)
	p := &licensor.Product{Name: "Solver"}
	cu := &licensor.Customer{Name: "Globex"}
	if err := db.CreateProduct(ctx, p); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateCustomer(ctx, cu); err != nil {
		b.Fatal(err)
	}
	c := &licensor.Contract{CustomerID: cu.ID, ProductID: p.ID, StartsAt: time.Now().Add(-time.Hour), Features: []licensor.Entitlement{
		{Feature: "export", Kind: licensor.FeatureBoolean},
		{Feature: "solver", Kind: licensor.FeatureCounted, Count: 50},
	}}
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateContract(ctx, c); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := db.Checkin(ctx, benchCheckin(c.ID, i, time.Now())); err != nil {
			b.Fatal(err)
		}
	}
	return ctx, c
}

func benchCheckin(contractID string, i int, now time.Time) licensor.Checkin {
	return licensor.Checkin{
		ContractID: contractID, InstanceID: fmt.Sprintf("instance-%05d", i), TakesSeat: true,
		Environment: "production", Host: fmt.Sprintf("host-%05d", i), RemoteAddr: "192.0.2.1:4000",
		Now: now, LicenseID: "lic_0123456789abcdefghjkmnpqrs", LicenseExpiresAt: now.Add(licensor.DefaultLicenseValidity),
		CloneWindow: licensor.DefaultRefreshInterval,
	}
}

// BenchmarkCheckinExisting refreshes existing instances from parallel
// goroutines: the write GetLicense makes on every call.
func BenchmarkCheckinExisting(b *testing.B) {
	const instances = 1000
	db, _ := openTempB(b)
	ctx, c := benchContract(b, db, instances)
	var next atomic.Int64
	b.ReportAllocs()
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

// BenchmarkGetContract reads a contract with its features from parallel
// goroutines: the read GetLicense makes on every call.
func BenchmarkGetContract(b *testing.B) {
	db, _ := openTempB(b)
	ctx, c := benchContract(b, db, 0)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.GetContract(ctx, c.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func openTempB(b *testing.B, opts ...Option) (*DB, string) {
	b.Helper()
	path := b.TempDir() + "/licensor.db"
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, path
}
