package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
)

// TestRefreshIsHOT: a refresh of an instance within the hour of its last
// check-in and license expiry changes no indexed value, so PostgreSQL
// updates the row heap-only (HOT), writing no index entry; one that starts
// a new hour is an ordinary update. The counts are the server's statistics
// of the table, which each connection reports when it ends: the store is
// closed, then the test waits for them.
func TestRefreshIsHOT(t *testing.T) {
	ctx := context.Background()
	url, schema := pgtest.Schema(t)
	db := pgtest.OpenSchema(t, url, schema)
	tctx, c, hour := hourWorld(t, db)
	// Few enough versions of few enough rows to share one page without
	// pruning, which other sessions on the server can hold back: whether
	// an update is HOT then depends only on its indexed values.
	const instances, sameHour = 4, 3
	checkin := func(i int, now time.Time) {
		t.Helper()
		_, err := db.Checkin(tctx, licensor.Checkin{ContractID: c.ID, InstanceID: fmt.Sprint("node-", i), TakesSeat: true,
			Host: "h", Now: now, LicenseID: "lic", LicenseExpiresAt: now.Add(licensor.DefaultLicenseValidity)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range instances {
		checkin(i, hour) // new: inserted
	}
	for r := 1; r <= sameHour; r++ {
		for i := range instances {
			checkin(i, hour.Add(time.Duration(r)*time.Minute))
		}
	}
	for i := range instances {
		checkin(i, hour.Add(time.Hour)) // the next hour
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	wantUpd := int64(instances * (sameHour + 1))
	var upd, hot int64
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for upd < wantUpd {
		if err := conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE schemaname = $1 AND relname = 'instances'`, schema).Scan(&upd, &hot); err != nil {
			t.Fatal(err)
		}
		if upd >= wantUpd {
			break
		}
		select {
		case <-wait.Done():
			t.Fatalf("updates of instances reported: got %d, want %d", upd, wantUpd)
		case <-tick.C:
		}
	}
	if upd != wantUpd || hot != instances*sameHour {
		t.Errorf("updates of instances: got %d, %d of them HOT; want %d, %d (every refresh within the hour)", upd, hot, wantUpd, instances*sameHour)
	}
}

// hourWorld makes a tenant with a contract that started an hour before
// hour, 03:00 on 2 January 2030.
func hourWorld(t *testing.T, db licensor.Store) (tctx context.Context, c *licensor.Contract, hour time.Time) {
	t.Helper()
	ctx := context.Background()
	ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: licensor.DefaultExpiryWarning}
	if err := db.CreateTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	tctx = licensor.WithTenant(ctx, ten.ID)
	p, cu := &licensor.Product{Name: "Solver"}, &licensor.Customer{Name: "Globex"}
	if err := db.CreateProduct(tctx, p); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCustomer(tctx, cu); err != nil {
		t.Fatal(err)
	}
	hour = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	c = &licensor.Contract{CustomerID: cu.ID, ProductID: p.ID, StartsAt: hour.Add(-time.Hour)}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateContract(tctx, c); err != nil {
		t.Fatal(err)
	}
	return tctx, c, hour
}
