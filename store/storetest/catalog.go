package storetest

import (
	"testing"

	"github.com/licensor/licensor"
)

func testProducts(t *testing.T, open opener) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		p := &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), Name: "Solver Suite", CreatedAt: t0}
		must(t, "CreateProduct", s.CreateProduct(ctx, p))
		eq(t, "TenantID written back", p.TenantID, ten.ID)
		got, err := s.GetProduct(ctx, p.ID)
		must(t, "GetProduct", err)
		eq(t, "ID", got.ID, p.ID)
		eq(t, "TenantID", got.TenantID, ten.ID)
		eq(t, "Name", got.Name, "Solver Suite")
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
	})

	t.Run("DuplicateName", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		newProduct(t, s, ctx, "Solver")
		dup := &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), Name: "Solver"}
		wantCode(t, "CreateProduct with a taken name", s.CreateProduct(ctx, dup), licensor.ECONFLICT)
		_, err := s.GetProduct(ctx, dup.ID)
		wantCode(t, "GetProduct of the refused product", err, licensor.ENOTFOUND)
		// The same name in another tenant is no conflict.
		ctxB, _ := scope(t, s, "Other")
		newProduct(t, s, ctxB, "Solver")
	})

	t.Run("DuplicateID", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		p := newProduct(t, s, ctx, "Solver")
		dup := &licensor.Product{ID: p.ID, Name: "Other"}
		wantCode(t, "CreateProduct with a taken id", s.CreateProduct(ctx, dup), licensor.ECONFLICT)
	})

	t.Run("UnknownTenant", func(t *testing.T) {
		s := open(t)
		ctx := licensor.WithTenant(t.Context(), licensor.NewID(licensor.PrefixTenant))
		p := &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), Name: "Solver"}
		wantCode(t, "CreateProduct in an unknown tenant", s.CreateProduct(ctx, p), licensor.ENOTFOUND)
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		_, err := s.GetProduct(ctx, licensor.NewID(licensor.PrefixProduct))
		wantCode(t, "GetProduct", err, licensor.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		var want []string
		for i := range 7 {
			want = append(want, newProduct(t, s, ctx, "Product "+string(rune('A'+i))).ID)
		}
		want = sorted(want)
		list := func(o licensor.ListOptions) ([]*licensor.Product, error) { return s.ListProducts(ctx, o) }
		id := func(x *licensor.Product) string { return x.ID }
		checkPaging(t, "ListProducts by 3", 3, want, list, id, id)
		checkPaging(t, "ListProducts by 7", 7, want, list, id, id)
		checkPaging(t, "ListProducts by 100", 100, want, list, id, id)
	})
}

func testFeatures(t *testing.T, open opener) {
	t.Run("CreateList", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		p := newProduct(t, s, ctx, "Solver")
		other := newProduct(t, s, ctx, "Other")
		var want []*licensor.Feature
		for _, name := range []string{"solver", "gpu-export", "cloud.sync"} {
			f := &licensor.Feature{
				ID: licensor.NewID(licensor.PrefixFeature), ProductID: p.ID, Name: name,
				Kind: licensor.FeatureCounted, Description: "the " + name + " feature", CreatedAt: t0,
			}
			must(t, "CreateFeature", s.CreateFeature(ctx, f))
			eq(t, "TenantID written back", f.TenantID, ten.ID)
			want = append(want, f)
		}
		must(t, "CreateFeature on another product", s.CreateFeature(ctx, &licensor.Feature{
			ID: licensor.NewID(licensor.PrefixFeature), ProductID: other.ID, Name: "solver", Kind: licensor.FeatureBoolean,
		}))
		got, err := s.ListFeatures(ctx, p.ID)
		must(t, "ListFeatures", err)
		wantIDs := sorted(ids(want, func(f *licensor.Feature) string { return f.ID }))
		gotIDs := ids(got, func(f *licensor.Feature) string { return f.ID })
		if len(gotIDs) != len(wantIDs) {
			t.Fatalf("ListFeatures: got %v, want %v", gotIDs, wantIDs)
		}
		for i := range wantIDs {
			eq(t, "ListFeatures order", gotIDs[i], wantIDs[i])
		}
		for _, g := range got {
			var w *licensor.Feature
			for _, f := range want {
				if f.ID == g.ID {
					w = f
				}
			}
			if w == nil {
				continue
			}
			eq(t, "TenantID", g.TenantID, ten.ID)
			eq(t, "ProductID", g.ProductID, p.ID)
			eq(t, "Name", g.Name, w.Name)
			eq(t, "Kind", g.Kind, w.Kind)
			eq(t, "Description", g.Description, w.Description)
			checkTime(t, "CreatedAt", g.CreatedAt, t0)
		}
	})

	t.Run("DuplicateName", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		p := newProduct(t, s, ctx, "Solver")
		f := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: p.ID, Name: "solver", Kind: licensor.FeatureBoolean}
		must(t, "CreateFeature", s.CreateFeature(ctx, f))
		dup := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: p.ID, Name: "solver", Kind: licensor.FeatureCounted}
		wantCode(t, "CreateFeature with a taken name", s.CreateFeature(ctx, dup), licensor.ECONFLICT)
		got, err := s.ListFeatures(ctx, p.ID)
		must(t, "ListFeatures", err)
		eq(t, "len(ListFeatures)", len(got), 1)
	})

	t.Run("UnknownProduct", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		f := &licensor.Feature{ID: licensor.NewID(licensor.PrefixFeature), ProductID: licensor.NewID(licensor.PrefixProduct), Name: "solver", Kind: licensor.FeatureBoolean}
		wantCode(t, "CreateFeature", s.CreateFeature(ctx, f), licensor.ENOTFOUND)
		_, err := s.ListFeatures(ctx, f.ProductID)
		wantCode(t, "ListFeatures", err, licensor.ENOTFOUND)
	})

	t.Run("ListNone", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		p := newProduct(t, s, ctx, "Solver")
		got, err := s.ListFeatures(ctx, p.ID)
		must(t, "ListFeatures", err)
		eq(t, "len(ListFeatures)", len(got), 0)
	})
}

func testCustomers(t *testing.T, open opener) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		c := &licensor.Customer{ID: licensor.NewID(licensor.PrefixCustomer), Name: "Globex", Email: "it@globex.example", CreatedAt: t0}
		must(t, "CreateCustomer", s.CreateCustomer(ctx, c))
		got, err := s.GetCustomer(ctx, c.ID)
		must(t, "GetCustomer", err)
		eq(t, "ID", got.ID, c.ID)
		eq(t, "TenantID", got.TenantID, ten.ID)
		eq(t, "Name", got.Name, "Globex")
		eq(t, "Email", got.Email, "it@globex.example")
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newCustomer(t, s, ctx, "Globex")
		dup := &licensor.Customer{ID: c.ID, Name: "Initech"}
		wantCode(t, "CreateCustomer with a taken id", s.CreateCustomer(ctx, dup), licensor.ECONFLICT)
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		_, err := s.GetCustomer(ctx, licensor.NewID(licensor.PrefixCustomer))
		wantCode(t, "GetCustomer", err, licensor.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		var want []string
		for range 5 {
			want = append(want, newCustomer(t, s, ctx, "Customer").ID)
		}
		want = sorted(want)
		list := func(o licensor.ListOptions) ([]*licensor.Customer, error) { return s.ListCustomers(ctx, o) }
		id := func(x *licensor.Customer) string { return x.ID }
		checkPaging(t, "ListCustomers by 2", 2, want, list, id, id)
		checkPaging(t, "ListCustomers by 5", 5, want, list, id, id)
	})
}
