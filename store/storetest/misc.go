package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testNoScope calls every tenant-scoped method without a tenant in ctx:
// each must refuse with EINTERNAL (a programming error, never a default).
func testNoScope(t *testing.T, open opener) {
	s := open(t)
	w := newWorld(t, s, "Acme")
	bg := context.Background()
	a := w.contract
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateProduct", func() error {
			return s.CreateProduct(bg, &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), TenantID: w.tenant.ID, Name: "x"})
		}},
		{"GetProduct", func() error { _, err := s.GetProduct(bg, w.product.ID); return err }},
		{"ListProducts", func() error { _, err := s.ListProducts(bg, licensor.ListOptions{}); return err }},
		{"CreateFeature", func() error {
			return s.CreateFeature(bg, &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), TenantID: w.tenant.ID,
				ProductID: w.product.ID, Name: "x", Kind: licensor.FeatureBoolean})
		}},
		{"ListFeatures", func() error { _, err := s.ListFeatures(bg, w.product.ID); return err }},
		{"CreateCustomer", func() error {
			return s.CreateCustomer(bg, &licensor.Customer{ID: licensor.NewID(licensor.PrefixCustomer), TenantID: w.tenant.ID, Name: "x"})
		}},
		{"GetCustomer", func() error { _, err := s.GetCustomer(bg, w.customer.ID); return err }},
		{"ListCustomers", func() error { _, err := s.ListCustomers(bg, licensor.ListOptions{}); return err }},
		{"CreateContract", func() error {
			c := *a
			c.ID = licensor.NewID(licensor.PrefixContract)
			return s.CreateContract(bg, &c)
		}},
		{"GetContract", func() error { _, err := s.GetContract(bg, a.ID); return err }},
		{"ListContracts", func() error { _, err := s.ListContracts(bg, licensor.ContractFilter{}); return err }},
		{"UpdateContract", func() error { c := *a; c.Name = "x"; return s.UpdateContract(bg, &c) }},
		{"CreateToken", func() error {
			return s.CreateToken(bg, &licensor.Token{ID: licensor.NewID(licensor.PrefixToken), TenantID: w.tenant.ID,
				Role: licensor.RoleAdmin, Name: "x", Hash: licensor.HashToken("x"), Hint: "x"})
		}},
		{"ListTokens", func() error { _, err := s.ListTokens(bg, licensor.TokenFilter{}); return err }},
		{"GetToken", func() error { _, err := s.GetToken(bg, w.token.ID); return err }},
		{"RevokeToken", func() error { _, err := s.RevokeToken(bg, w.token.ID, t0); return err }},
		{"CreateSigningKey", func() error {
			k := newKey(at(time.Hour), at(time.Hour))
			k.TenantID = w.tenant.ID
			return s.CreateSigningKey(bg, k, at(time.Hour))
		}},
		{"ListSigningKeys", func() error { _, err := s.ListSigningKeys(bg); return err }},
		{"ExtendKeyPublication", func() error { return s.ExtendKeyPublication(bg, w.key.ID, at(1000*time.Hour)) }},
		{"Checkin", func() error { _, err := s.Checkin(bg, checkin(a.ID, "node-9", t0)); return err }},
		{"GetInstance", func() error { _, err := s.GetInstance(bg, a.ID, w.instance.ID); return err }},
		{"ListInstances", func() error { _, err := s.ListInstances(bg, licensor.InstanceFilter{}); return err }},
		{"ReleaseSeat", func() error { return s.ReleaseSeat(bg, a.ID, w.instance.ID) }},
		{"ListAudit", func() error { _, err := s.ListAudit(bg, licensor.AuditFilter{}); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.name+" without a tenant", c.call(), licensor.EINTERNAL) })
	}
	t.Run("Unchanged", func(t *testing.T) { w.unchanged(t, s) })
}

func testMisc(t *testing.T, open opener) {
	bg := context.Background()

	t.Run("Ping", func(t *testing.T) {
		s := open(t)
		must(t, "Ping", s.Ping(bg))
	})

	t.Run("NegativeLimit", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		_, err := s.ListProducts(ctx, licensor.ListOptions{Limit: -1})
		wantCode(t, "ListProducts with Limit -1", err, licensor.EINVALID)
		_, err = s.ListTenants(bg, licensor.ListOptions{Limit: -1})
		wantCode(t, "ListTenants with Limit -1", err, licensor.EINVALID)
	})

	t.Run("AssignsIDs", func(t *testing.T) {
		s := open(t)
		ten := &licensor.Tenant{Name: "Acme", ConcurrencyLimit: 60, ExpiryWarning: time.Hour}
		must(t, "CreateTenant", s.CreateTenant(bg, ten))
		if ten.ID == "" {
			t.Fatalf("CreateTenant: got no ID, want one assigned")
		}
		ctx := licensor.WithTenant(bg, ten.ID)
		p := &licensor.Product{Name: "Solver"}
		must(t, "CreateProduct", s.CreateProduct(ctx, p))
		f := &licensor.Feature{ProductID: p.ID, Name: "solver", Kind: licensor.FeatureBoolean}
		must(t, "CreateFeature", s.CreateFeature(ctx, f))
		cu := &licensor.Customer{Name: "Globex"}
		must(t, "CreateCustomer", s.CreateCustomer(ctx, cu))
		c := &licensor.Contract{CustomerID: cu.ID, ProductID: p.ID, StartsAt: t0}
		must(t, "Validate", c.Validate())
		must(t, "CreateContract", s.CreateContract(ctx, c))
		tok := &licensor.Token{Role: licensor.RoleAdmin, Name: "x", Hash: licensor.HashToken("x"), Hint: "x"}
		must(t, "CreateToken", s.CreateToken(ctx, tok))
		k := newKey(t0, at(time.Hour))
		k.ID = ""
		must(t, "CreateSigningKey", s.CreateSigningKey(ctx, k, time.Time{}))
		e := &licensor.AuditEntry{TenantID: ten.ID, At: t0, ActorRole: licensor.RoleAdmin, Action: "x.y", ObjectType: "x", ObjectID: "x"}
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
		for name, id := range map[string]string{"Product": p.ID, "Feature": f.ID, "Customer": cu.ID, "Contract": c.ID,
			"Token": tok.ID, "SigningKey": k.ID, "AuditEntry": e.ID} {
			if id == "" {
				t.Errorf("%s: got no ID, want one assigned", name)
			}
		}
		_, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract by the assigned id", err)
		got, err := s.TokenByHash(bg, tok.Hash)
		must(t, "TokenByHash", err)
		eq(t, "token ID", got.ID, tok.ID)
	})

	t.Run("ZeroTimesStamped", func(t *testing.T) {
		// A creation time left zero is filled in by the store (its clock).
		s := open(t)
		before := time.Now().Add(-time.Second)
		ctx, ten := scope(t, s, "Acme")
		got, err := s.GetTenant(ctx, ten.ID)
		must(t, "GetTenant", err)
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("CreatedAt: got %v, want about now", got.CreatedAt)
		}
		checkTime(t, "CreatedAt written back", ten.CreatedAt, got.CreatedAt)
	})
}
