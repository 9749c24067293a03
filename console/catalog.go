package console

import (
	"net/http"
	"strings"

	"github.com/licensor/licensor"
)

type productRow struct {
	*licensor.Product
	Features []*licensor.Feature
}

func (c *Console) customers(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	cs, err := c.svc.ListCustomers(ctx, tenant, licensor.ListOptions{Limit: licensor.MaxListLimit, After: r.URL.Query().Get("after")})
	if err != nil {
		return err
	}
	return c.render(w, r, s, "customers", "Customers", "customers", cs)
}

func (c *Console) createCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	cu, err := c.svc.CreateCustomer(ctx, tenant, licensor.Customer{Name: strings.TrimSpace(r.PostForm.Get("name")), Email: strings.TrimSpace(r.PostForm.Get("email"))})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/customers", "Customer "+cu.Name+" created ("+cu.ID+").")
}

func (c *Console) products(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ps, err := c.svc.ListProducts(ctx, tenant, licensor.ListOptions{Limit: licensor.MaxListLimit})
	if err != nil {
		return err
	}
	rows := make([]productRow, len(ps))
	for i, p := range ps {
		fs, err := c.svc.ListFeatures(ctx, tenant, p.ID)
		if err != nil {
			return err
		}
		rows[i] = productRow{p, fs}
	}
	return c.render(w, r, s, "products", "Products and features", "products", rows)
}

func (c *Console) createProduct(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	p, err := c.svc.CreateProduct(ctx, tenant, licensor.Product{Name: strings.TrimSpace(r.PostForm.Get("name"))})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/products", "Product "+p.Name+" created.")
}

func (c *Console) createFeature(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	f, err := c.svc.CreateFeature(ctx, tenant, licensor.Feature{ProductID: r.PathValue("id"), Name: strings.TrimSpace(r.PostForm.Get("name")),
		Kind: licensor.FeatureKind(r.PostForm.Get("kind")), Description: strings.TrimSpace(r.PostForm.Get("description"))})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/products", "Feature "+f.Name+" added.")
}
