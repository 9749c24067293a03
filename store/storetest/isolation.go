package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// world is one tenant with one of everything.
type world struct {
	ctx      context.Context
	tenant   *licensor.Tenant
	product  *licensor.Product
	customer *licensor.Customer
	contract *licensor.Contract
	token    *licensor.Token
	key      *licensor.SigningKey
	instance *licensor.Instance
	audit    *licensor.AuditEntry
}

func newWorld(t *testing.T, s licensor.Store, name string) *world {
	t.Helper()
	w := &world{}
	w.ctx, w.tenant = scope(t, s, name)
	w.contract = newContract(t, s, w.ctx, 2, nil)
	var err error
	w.product, err = s.GetProduct(w.ctx, w.contract.ProductID)
	must(t, "GetProduct", err)
	w.customer, err = s.GetCustomer(w.ctx, w.contract.CustomerID)
	must(t, "GetCustomer", err)
	must(t, "CreateFeature", s.CreateFeature(w.ctx, &licensor.Feature{
		ID: licensor.NewID(licensor.PrefixFeature), ProductID: w.product.ID, Name: "solver", Kind: licensor.FeatureCounted}))
	w.token = newToken(t, s, w.ctx, licensor.RoleContract, w.contract.ID)
	w.key = newKey(t0, at(14*24*time.Hour))
	must(t, "CreateSigningKey", s.CreateSigningKey(w.ctx, w.key, time.Time{}))
	w.instance, err = s.Checkin(w.ctx, checkin(w.contract.ID, "node-1", t0))
	must(t, "Checkin", err)
	w.audit = &licensor.AuditEntry{ID: licensor.NewID(licensor.PrefixAudit), TenantID: w.tenant.ID, At: t0,
		ActorRole: licensor.RoleAdmin, TokenID: w.token.ID, Action: "contract.create", ObjectType: "contract", ObjectID: w.contract.ID}
	must(t, "AppendAudit", s.AppendAudit(w.ctx, w.audit))
	return w
}

// unchanged checks that nothing of w changed.
func (w *world) unchanged(t *testing.T, s licensor.Store) {
	t.Helper()
	ten, err := s.GetTenant(w.ctx, w.tenant.ID)
	must(t, "GetTenant", err)
	eq(t, "tenant Name", ten.Name, w.tenant.Name)
	ps, err := s.ListProducts(w.ctx, licensor.ListOptions{})
	must(t, "ListProducts", err)
	eq(t, "products", len(ps), 1)
	fs, err := s.ListFeatures(w.ctx, w.product.ID)
	must(t, "ListFeatures", err)
	eq(t, "features", len(fs), 1)
	cs, err := s.ListCustomers(w.ctx, licensor.ListOptions{})
	must(t, "ListCustomers", err)
	eq(t, "customers", len(cs), 1)
	c, err := s.GetContract(w.ctx, w.contract.ID)
	must(t, "GetContract", err)
	eq(t, "contract Name", c.Name, w.contract.Name)
	eq(t, "contract Version", c.Version, int64(1))
	eq(t, "contract SeatsUsed", c.SeatsUsed, 1)
	cons, err := s.ListContracts(w.ctx, licensor.ContractFilter{})
	must(t, "ListContracts", err)
	eq(t, "contracts", len(cons), 1)
	tok, err := s.TokenByHash(context.Background(), w.token.Hash)
	must(t, "TokenByHash", err)
	checkTime(t, "token RevokedAt", tok.RevokedAt, time.Time{})
	ks := listKeys(t, s, w.ctx)
	if len(ks) != 1 {
		t.Fatalf("ListSigningKeys: got %d keys, want 1", len(ks))
	}
	checkTime(t, "key RetiredAt", ks[0].RetiredAt, time.Time{})
	checkTime(t, "key PublishUntil", ks[0].PublishUntil, w.key.PublishUntil)
	inst := getInstance(t, s, w.ctx, w.contract.ID, w.instance.ID)
	checkInstance(t, "instance", inst, w.instance)
	is, err := s.ListInstances(w.ctx, licensor.InstanceFilter{})
	must(t, "ListInstances", err)
	eq(t, "instances", len(is), 1)
	as, err := s.ListAudit(w.ctx, licensor.AuditFilter{})
	must(t, "ListAudit", err)
	eq(t, "audit entries", len(as), 1)
}

func testIsolation(t *testing.T, open opener) {
	s := open(t)
	a := newWorld(t, s, "Tenant A")
	b := newWorld(t, s, "Tenant B")
	ctx := b.ctx // B's scope, aimed at A's objects

	notFound := func(name string, err error) {
		t.Helper()
		wantCode(t, name, err, licensor.ENOTFOUND)
	}
	// onlyB checks that a list in B's scope holds B's objects only.
	onlyB := func(name string, n int, err error) {
		t.Helper()
		must(t, name, err)
		eq(t, name+": items", n, 1)
	}
	t.Run("Tenant", func(t *testing.T) {
		_, err := s.GetTenant(ctx, a.tenant.ID)
		notFound("GetTenant", err)
		upd := *a.tenant
		upd.Name = "hijacked"
		notFound("UpdateTenant", s.UpdateTenant(ctx, &upd))
		ts, err := s.ListTenants(ctx, licensor.ListOptions{})
		onlyB("ListTenants", len(ts), err)
		if len(ts) == 1 {
			eq(t, "ListTenants", ts[0].ID, b.tenant.ID)
		}
	})
	t.Run("Catalog", func(t *testing.T) {
		_, err := s.GetProduct(ctx, a.product.ID)
		notFound("GetProduct", err)
		ps, err := s.ListProducts(ctx, licensor.ListOptions{})
		onlyB("ListProducts", len(ps), err)
		notFound("CreateFeature", s.CreateFeature(ctx, &licensor.Feature{
			ID: licensor.NewID(licensor.PrefixFeature), ProductID: a.product.ID, Name: "stolen", Kind: licensor.FeatureBoolean}))
		_, err = s.ListFeatures(ctx, a.product.ID)
		notFound("ListFeatures", err)
		_, err = s.GetCustomer(ctx, a.customer.ID)
		notFound("GetCustomer", err)
		cs, err := s.ListCustomers(ctx, licensor.ListOptions{})
		onlyB("ListCustomers", len(cs), err)
		notFound("CreateProduct naming tenant A", s.CreateProduct(ctx, &licensor.Product{
			ID: licensor.NewID(licensor.PrefixProduct), TenantID: a.tenant.ID, Name: "planted"}))
		notFound("CreateCustomer naming tenant A", s.CreateCustomer(ctx, &licensor.Customer{
			ID: licensor.NewID(licensor.PrefixCustomer), TenantID: a.tenant.ID, Name: "planted"}))
	})
	t.Run("Contract", func(t *testing.T) {
		c := &licensor.Contract{ID: licensor.NewID(licensor.PrefixContract), CustomerID: a.customer.ID, ProductID: a.product.ID, StartsAt: t0}
		must(t, "Validate", c.Validate())
		notFound("CreateContract on A's customer and product", s.CreateContract(ctx, c))
		mixed := *c
		mixed.ID, mixed.CustomerID = licensor.NewID(licensor.PrefixContract), b.customer.ID
		notFound("CreateContract on A's product", s.CreateContract(ctx, &mixed))
		_, err := s.GetContract(ctx, a.contract.ID)
		notFound("GetContract", err)
		cs, err := s.ListContracts(ctx, licensor.ContractFilter{CustomerID: a.customer.ID})
		must(t, "ListContracts of A's customer", err)
		eq(t, "ListContracts of A's customer: items", len(cs), 0)
		cs, err = s.ListContracts(ctx, licensor.ContractFilter{})
		onlyB("ListContracts", len(cs), err)
		upd := *a.contract
		upd.TenantID = ""
		upd.Name = "hijacked"
		notFound("UpdateContract", s.UpdateContract(ctx, &upd))
		upd = *a.contract
		upd.Name = "hijacked"
		notFound("UpdateContract naming tenant A", s.UpdateContract(ctx, &upd))
	})
	t.Run("Token", func(t *testing.T) {
		tok := &licensor.Token{ID: licensor.NewID(licensor.PrefixToken), Role: licensor.RoleContract,
			ContractID: a.contract.ID, Name: "stolen", Hash: licensor.HashToken("stolen"), Hint: "x"}
		notFound("CreateToken for A's contract", s.CreateToken(ctx, tok))
		ts, err := s.ListTokens(ctx, licensor.TokenFilter{IncludeRevoked: true})
		onlyB("ListTokens", len(ts), err)
		ts, err = s.ListTokens(ctx, licensor.TokenFilter{ContractID: a.contract.ID})
		must(t, "ListTokens of A's contract", err)
		eq(t, "ListTokens of A's contract: items", len(ts), 0)
		_, err = s.GetToken(ctx, a.token.ID)
		notFound("GetToken", err)
		_, err = s.RevokeToken(ctx, a.token.ID, at(time.Hour))
		notFound("RevokeToken", err)
	})
	t.Run("SigningKey", func(t *testing.T) {
		notFound("ExtendKeyPublication", s.ExtendKeyPublication(ctx, a.key.ID, at(1000*24*time.Hour)))
		ks, err := s.ListSigningKeys(ctx)
		onlyB("ListSigningKeys", len(ks), err)
		if len(ks) == 1 {
			eq(t, "ListSigningKeys", ks[0].ID, b.key.ID)
		}
	})
	t.Run("Instance", func(t *testing.T) {
		_, err := s.Checkin(ctx, checkin(a.contract.ID, "node-2", at(time.Hour)))
		notFound("Checkin on A's contract", err)
		_, err = s.Checkin(ctx, checkin(a.contract.ID, a.instance.ID, at(time.Hour)))
		notFound("Checkin of A's instance", err)
		_, err = s.GetInstance(ctx, a.contract.ID, a.instance.ID)
		notFound("GetInstance", err)
		notFound("ReleaseSeat", s.ReleaseSeat(ctx, a.contract.ID, a.instance.ID))
		is, err := s.ListInstances(ctx, licensor.InstanceFilter{ContractID: a.contract.ID})
		must(t, "ListInstances of A's contract", err)
		eq(t, "ListInstances of A's contract: items", len(is), 0)
		is, err = s.ListInstances(ctx, licensor.InstanceFilter{})
		onlyB("ListInstances", len(is), err)
	})
	t.Run("Audit", func(t *testing.T) {
		e := &licensor.AuditEntry{ID: licensor.NewID(licensor.PrefixAudit), TenantID: a.tenant.ID, At: t0,
			ActorRole: licensor.RoleAdmin, Action: "x.y", ObjectType: "x", ObjectID: "x_1"}
		notFound("AppendAudit into A's log", s.AppendAudit(ctx, e))
		es, err := s.ListAudit(ctx, licensor.AuditFilter{})
		onlyB("ListAudit", len(es), err)
		es, err = s.ListAudit(ctx, licensor.AuditFilter{ObjectID: a.contract.ID})
		must(t, "ListAudit of A's contract", err)
		eq(t, "ListAudit of A's contract: items", len(es), 0)
		es, err = s.ListAudit(ctx, licensor.AuditFilter{ListOptions: licensor.ListOptions{After: a.audit.ID}})
		must(t, "ListAudit after A's entry", err)
		eq(t, "ListAudit after A's entry: items", len(es), 0)
	})
	t.Run("AUnchanged", func(t *testing.T) { a.unchanged(t, s) })
	t.Run("BUnchanged", func(t *testing.T) { b.unchanged(t, s) })
}
