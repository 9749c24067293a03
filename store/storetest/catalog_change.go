package storetest

import (
	"strings"
	"testing"

	"github.com/licensor/licensor"
)

// testCatalogChanges covers updating and deleting products, features and
// customers, and the metadata of customers and contracts.
func testCatalogChanges(t *testing.T, open opener) {
	t.Run("UpdateProduct", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		p := newProduct(t, s, ctx, "Solver")
		other := newProduct(t, s, ctx, "Other")
		u := &licensor.Product{ID: p.ID, Name: "Solver Pro"}
		must(t, "UpdateProduct", s.UpdateProduct(ctx, u))
		checkTime(t, "CreatedAt written back", u.CreatedAt, t0)
		got, err := s.GetProduct(ctx, p.ID)
		must(t, "GetProduct", err)
		eq(t, "Name", got.Name, "Solver Pro")
		wantCode(t, "UpdateProduct to a taken name", s.UpdateProduct(ctx, &licensor.Product{ID: p.ID, Name: other.Name}), licensor.ECONFLICT)
		wantCode(t, "UpdateProduct of an unknown id",
			s.UpdateProduct(ctx, &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), Name: "X"}), licensor.ENOTFOUND)
	})

	t.Run("DeleteProduct", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		err := s.DeleteProduct(ctx, c.ProductID)
		wantCode(t, "DeleteProduct with a contract", err, licensor.EPRECONDITION)
		if err == nil || !strings.Contains(err.Error(), c.ID) || !strings.Contains(err.Error(), "1 contract") {
			t.Errorf("DeleteProduct with a contract: got %v, want a message naming 1 contract and %s", err, c.ID)
		}
		p := newProduct(t, s, ctx, "Unused")
		f := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: p.ID, Name: "solver", Kind: licensor.FeatureCounted}
		must(t, "CreateFeature", s.CreateFeature(ctx, f))
		must(t, "DeleteProduct", s.DeleteProduct(ctx, p.ID))
		_, err = s.GetProduct(ctx, p.ID)
		wantCode(t, "GetProduct after delete", err, licensor.ENOTFOUND)
		_, err = s.GetFeature(ctx, f.ID)
		wantCode(t, "GetFeature of a deleted product's feature", err, licensor.ENOTFOUND)
		wantCode(t, "DeleteProduct twice", s.DeleteProduct(ctx, p.ID), licensor.ENOTFOUND)
	})

	t.Run("UpdateDeleteFeature", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil) // grants solver and export
		used := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: c.ProductID, Name: "solver", Kind: licensor.FeatureCounted}
		unused := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: c.ProductID, Name: "plot", Kind: licensor.FeatureBoolean}
		must(t, "CreateFeature", s.CreateFeature(ctx, used))
		must(t, "CreateFeature", s.CreateFeature(ctx, unused))

		u := &licensor.Feature{ID: used.ID, Description: "the solver", Name: "ignored", Kind: licensor.FeatureBoolean}
		must(t, "UpdateFeature", s.UpdateFeature(ctx, u))
		eq(t, "Name written back", u.Name, "solver")
		eq(t, "Kind written back", u.Kind, licensor.FeatureCounted)
		got, err := s.GetFeature(ctx, used.ID)
		must(t, "GetFeature", err)
		eq(t, "Description", got.Description, "the solver")
		eq(t, "Name", got.Name, "solver")
		wantCode(t, "UpdateFeature of an unknown id",
			s.UpdateFeature(ctx, &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature)}), licensor.ENOTFOUND)

		err = s.DeleteFeature(ctx, used.ID)
		wantCode(t, "DeleteFeature granted by a contract", err, licensor.EPRECONDITION)
		if err == nil || !strings.Contains(err.Error(), c.ID) {
			t.Errorf("DeleteFeature granted by a contract: got %v, want a message naming %s", err, c.ID)
		}
		must(t, "DeleteFeature", s.DeleteFeature(ctx, unused.ID))
		_, err = s.GetFeature(ctx, unused.ID)
		wantCode(t, "GetFeature after delete", err, licensor.ENOTFOUND)
		wantCode(t, "DeleteFeature twice", s.DeleteFeature(ctx, unused.ID), licensor.ENOTFOUND)
	})

	t.Run("UpdateCustomerMetadata", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := &licensor.Customer{ID: licensor.NewID(licensor.PrefixCustomer), Name: "Acme", CreatedAt: t0,
			Metadata: licensor.Metadata{"crm.id": "42", "region": "eu-west"}}
		must(t, "CreateCustomer", s.CreateCustomer(ctx, c))
		got, err := s.GetCustomer(ctx, c.ID)
		must(t, "GetCustomer", err)
		eq(t, "metadata entries", len(got.Metadata), 2)
		eq(t, "metadata crm.id", got.Metadata["crm.id"], "42")

		u := &licensor.Customer{ID: c.ID, Name: "Acme Corp", Email: "it@acme.example", Metadata: licensor.Metadata{"tier": "gold"}}
		must(t, "UpdateCustomer", s.UpdateCustomer(ctx, u))
		checkTime(t, "CreatedAt written back", u.CreatedAt, t0)
		list, err := s.ListCustomers(ctx, licensor.ListOptions{Limit: 10})
		must(t, "ListCustomers", err)
		eq(t, "customers listed", len(list), 1)
		eq(t, "Name", list[0].Name, "Acme Corp")
		eq(t, "Email", list[0].Email, "it@acme.example")
		eq(t, "metadata entries after replace", len(list[0].Metadata), 1)
		eq(t, "metadata tier", list[0].Metadata["tier"], "gold")

		must(t, "UpdateCustomer clearing metadata", s.UpdateCustomer(ctx, &licensor.Customer{ID: c.ID, Name: "Acme Corp"}))
		got, err = s.GetCustomer(ctx, c.ID)
		must(t, "GetCustomer", err)
		eq(t, "metadata entries after clear", len(got.Metadata), 0)
		wantCode(t, "UpdateCustomer of an unknown id",
			s.UpdateCustomer(ctx, &licensor.Customer{ID: licensor.NewID(licensor.PrefixCustomer), Name: "X"}), licensor.ENOTFOUND)
	})

	t.Run("ContractMetadata", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, func(c *licensor.Contract) { c.Metadata = licensor.Metadata{"po": "PO-1"} })
		got, err := s.GetContract(ctx, c.ID)
		must(t, "GetContract", err)
		eq(t, "metadata po", got.Metadata["po"], "PO-1")
		got.Metadata = licensor.Metadata{"po": "PO-2", "owner": "jane"}
		must(t, "UpdateContract", s.UpdateContract(ctx, got))
		list, err := s.ListContracts(ctx, licensor.ContractFilter{ListOptions: licensor.ListOptions{Limit: 10}})
		must(t, "ListContracts", err)
		eq(t, "contracts listed", len(list), 1)
		eq(t, "metadata entries", len(list[0].Metadata), 2)
		eq(t, "metadata po", list[0].Metadata["po"], "PO-2")
	})

	t.Run("DeleteCustomer", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, nil)
		err := s.DeleteCustomer(ctx, c.CustomerID)
		wantCode(t, "DeleteCustomer with a contract", err, licensor.EPRECONDITION)
		if err == nil || !strings.Contains(err.Error(), c.ID) {
			t.Errorf("DeleteCustomer with a contract: got %v, want a message naming %s", err, c.ID)
		}
		cu := newCustomer(t, s, ctx, "Pool owner")
		pool := &licensor.Pool{ID: licensor.NewID(licensor.PrefixPool), CustomerID: cu.ID, Name: "floating",
			LeaseTTL: licensor.DefaultLeaseTTL, Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 5}}, CreatedAt: t0}
		must(t, "CreatePool", s.CreatePool(ctx, pool))
		err = s.DeleteCustomer(ctx, cu.ID)
		wantCode(t, "DeleteCustomer with a pool", err, licensor.EPRECONDITION)
		if err == nil || !strings.Contains(err.Error(), "pool") {
			t.Errorf("DeleteCustomer with a pool: got %v, want a message naming the pool", err)
		}
		free := newCustomer(t, s, ctx, "Free")
		must(t, "DeleteCustomer", s.DeleteCustomer(ctx, free.ID))
		_, err = s.GetCustomer(ctx, free.ID)
		wantCode(t, "GetCustomer after delete", err, licensor.ENOTFOUND)
		wantCode(t, "DeleteCustomer twice", s.DeleteCustomer(ctx, free.ID), licensor.ENOTFOUND)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		ctxA, _ := scope(t, s, "A")
		ctxB, _ := scope(t, s, "B")
		p := newProduct(t, s, ctxA, "Solver")
		f := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: p.ID, Name: "solver", Kind: licensor.FeatureCounted}
		must(t, "CreateFeature", s.CreateFeature(ctxA, f))
		cu := newCustomer(t, s, ctxA, "Acme")
		wantCode(t, "UpdateProduct of another tenant", s.UpdateProduct(ctxB, &licensor.Product{ID: p.ID, Name: "Hijack"}), licensor.ENOTFOUND)
		wantCode(t, "DeleteProduct of another tenant", s.DeleteProduct(ctxB, p.ID), licensor.ENOTFOUND)
		_, err := s.GetFeature(ctxB, f.ID)
		wantCode(t, "GetFeature of another tenant", err, licensor.ENOTFOUND)
		wantCode(t, "UpdateFeature of another tenant", s.UpdateFeature(ctxB, &licensor.Feature{ID: f.ID, Description: "x"}), licensor.ENOTFOUND)
		wantCode(t, "DeleteFeature of another tenant", s.DeleteFeature(ctxB, f.ID), licensor.ENOTFOUND)
		wantCode(t, "UpdateCustomer of another tenant", s.UpdateCustomer(ctxB, &licensor.Customer{ID: cu.ID, Name: "Hijack"}), licensor.ENOTFOUND)
		wantCode(t, "DeleteCustomer of another tenant", s.DeleteCustomer(ctxB, cu.ID), licensor.ENOTFOUND)
		got, err := s.GetProduct(ctxA, p.ID)
		must(t, "GetProduct", err)
		eq(t, "product name untouched", got.Name, "Solver")
		gc, err := s.GetCustomer(ctxA, cu.ID)
		must(t, "GetCustomer", err)
		eq(t, "customer name untouched", gc.Name, "Acme")
	})
}
