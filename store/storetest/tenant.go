package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testTenants(t *testing.T, open opener) {
	bg := context.Background()

	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		want := &licensor.Tenant{
			ID: licensor.NewID(licensor.PrefixTenant), Name: "Acme", ConcurrencyLimit: 75,
			QueueWait: 1500 * time.Millisecond, ExpiryWarning: 10 * 24 * time.Hour,
			CreatedAt: t0, UpdatedAt: at(time.Minute),
		}
		must(t, "CreateTenant", s.CreateTenant(bg, want))
		got, err := s.GetTenant(bg, want.ID)
		must(t, "GetTenant", err)
		checkTenant(t, got, want)
	})

	t.Run("CreateDuplicate", func(t *testing.T) {
		s := open(t)
		ten := &licensor.Tenant{ID: licensor.NewID(licensor.PrefixTenant), Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: time.Hour}
		must(t, "CreateTenant", s.CreateTenant(bg, ten))
		dup := *ten
		dup.Name = "Other"
		wantCode(t, "CreateTenant with a taken id", s.CreateTenant(bg, &dup), licensor.ECONFLICT)
		got, err := s.GetTenant(bg, ten.ID)
		must(t, "GetTenant", err)
		eq(t, "Name", got.Name, "Acme")
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := open(t)
		_, err := s.GetTenant(bg, licensor.NewID(licensor.PrefixTenant))
		wantCode(t, "GetTenant", err, licensor.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		var want []string
		for range 5 {
			_, ten := scope(t, s, "Tenant")
			want = append(want, ten.ID)
		}
		want = sorted(want)
		list := func(o licensor.ListOptions) ([]*licensor.Tenant, error) { return s.ListTenants(bg, o) }
		id := func(x *licensor.Tenant) string { return x.ID }
		checkPaging(t, "ListTenants by 2", 2, want, list, id, id)
		checkPaging(t, "ListTenants by 10", 10, want, list, id, id)
		all, err := s.ListTenants(bg, licensor.ListOptions{})
		must(t, "ListTenants", err)
		eq(t, "len(ListTenants with Limit 0)", len(all), 5)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		created := ten.CreatedAt
		ten.Name = "Acme Corp"
		ten.ConcurrencyLimit = 500
		ten.QueueWait = 2 * time.Second
		ten.ExpiryWarning = 30 * 24 * time.Hour
		ten.UpdatedAt = at(time.Hour)
		// Updating with and without a scope both work for one's own tenant.
		must(t, "UpdateTenant", s.UpdateTenant(ctx, ten))
		must(t, "UpdateTenant unscoped", s.UpdateTenant(bg, ten))
		got, err := s.GetTenant(ctx, ten.ID)
		must(t, "GetTenant", err)
		ten.CreatedAt = created
		checkTenant(t, got, ten)
	})

	t.Run("Ceilings", func(t *testing.T) {
		s := open(t)
		want := &licensor.Tenant{
			ID: licensor.NewID(licensor.PrefixTenant), Name: "Acme", ConcurrencyLimit: 40, QueueWait: 500 * time.Millisecond,
			ConcurrencyCeiling: 120, QueueWaitCeiling: 2500 * time.Millisecond, ExpiryWarning: time.Hour,
			CreatedAt: t0, UpdatedAt: t0,
		}
		must(t, "CreateTenant", s.CreateTenant(bg, want))
		got, err := s.GetTenant(bg, want.ID)
		must(t, "GetTenant", err)
		checkTenant(t, got, want)
		want.ConcurrencyCeiling, want.QueueWaitCeiling = 45, 750*time.Millisecond
		want.UpdatedAt = at(time.Hour)
		must(t, "UpdateTenant", s.UpdateTenant(bg, want))
		got, err = s.GetTenant(bg, want.ID)
		must(t, "GetTenant after UpdateTenant", err)
		checkTenant(t, got, want)
		all, err := s.ListTenants(bg, licensor.ListOptions{})
		must(t, "ListTenants", err)
		eq(t, "len(ListTenants)", len(all), 1)
		checkTenant(t, all[0], want)
	})

	t.Run("UpdateUnknown", func(t *testing.T) {
		s := open(t)
		ten := &licensor.Tenant{ID: licensor.NewID(licensor.PrefixTenant), Name: "Ghost", ConcurrencyLimit: 60, ExpiryWarning: time.Hour}
		wantCode(t, "UpdateTenant", s.UpdateTenant(bg, ten), licensor.ENOTFOUND)
		_, err := s.GetTenant(bg, ten.ID)
		wantCode(t, "GetTenant after UpdateTenant", err, licensor.ENOTFOUND)
	})
}

func checkTenant(t *testing.T, got, want *licensor.Tenant) {
	t.Helper()
	eq(t, "ID", got.ID, want.ID)
	eq(t, "Name", got.Name, want.Name)
	eq(t, "ConcurrencyLimit", got.ConcurrencyLimit, want.ConcurrencyLimit)
	eq(t, "QueueWait", got.QueueWait, want.QueueWait)
	eq(t, "ConcurrencyCeiling", got.ConcurrencyCeiling, want.ConcurrencyCeiling)
	eq(t, "QueueWaitCeiling", got.QueueWaitCeiling, want.QueueWaitCeiling)
	eq(t, "ExpiryWarning", got.ExpiryWarning, want.ExpiryWarning)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}
