package console

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/service"
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

type customerView struct {
	C         *licensor.Customer
	Metadata  string
	Contracts []*licensor.Contract
	Links     []*licensor.PortalLink
}

func (c *Console) customer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	cu, err := c.svc.GetCustomer(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := customerView{C: cu, Metadata: formatMetadata(cu.Metadata)}
	if v.Contracts, err = c.svc.ListContracts(ctx, tenant, licensor.ContractFilter{CustomerID: cu.ID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}}); err != nil {
		return err
	}
	if v.Links, err = c.svc.ListPortalLinks(ctx, tenant, licensor.PortalLinkFilter{CustomerID: cu.ID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}}); err != nil {
		return err
	}
	return c.render(w, r, s, "customer", "Customer "+cu.Name, "customers", v)
}

func (c *Console) updateCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	name, email := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("email")
	md, err := parseMetadata(r.PostForm.Get("metadata"))
	if err != nil {
		return err
	}
	cu, err := c.svc.UpdateCustomer(ctx, tenant, r.PathValue("id"), service.CustomerUpdate{Name: &name, Email: &email, Metadata: &md})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/customers/"+cu.ID, "Customer saved.")
}

func (c *Console) deleteCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	if err := c.svc.DeleteCustomer(ctx, tenant, r.PathValue("id")); err != nil {
		return err
	}
	return redirect(w, r, s, "/console/customers", "Customer deleted.")
}

func (c *Console) renameProduct(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if _, err := c.svc.UpdateProduct(ctx, tenant, r.PathValue("id"), &name); err != nil {
		return err
	}
	return redirect(w, r, s, "/console/products", "Product renamed.")
}

func (c *Console) deleteProduct(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	if err := c.svc.DeleteProduct(ctx, tenant, r.PathValue("id")); err != nil {
		return err
	}
	return redirect(w, r, s, "/console/products", "Product deleted.")
}

func (c *Console) updateFeature(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	d := strings.TrimSpace(r.PostForm.Get("description"))
	if _, err := c.svc.UpdateFeature(ctx, tenant, r.PathValue("id"), &d); err != nil {
		return err
	}
	return redirect(w, r, s, "/console/products", "Feature saved.")
}

func (c *Console) deleteFeature(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	if err := c.svc.DeleteFeature(ctx, tenant, r.PathValue("id")); err != nil {
		return err
	}
	return redirect(w, r, s, "/console/products", "Feature deleted.")
}

// parseMetadata reads one "key=value" a line; the service validates keys
// and sizes.
func parseMetadata(text string) (licensor.Metadata, error) {
	md := licensor.Metadata{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, licensor.Errorf(licensor.EINVALID, "metadata line %q: write key=value", truncate(line, 80))
		}
		md[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return md, nil
}

func formatMetadata(md licensor.Metadata) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + md[k] + "\n")
	}
	return b.String()
}

// createPortalLink makes a portal link for the customer; the link (with
// its secret) is shown once.
func (c *Console) createPortalLink(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	var ttl time.Duration
	if d := strings.TrimSpace(r.PostForm.Get("days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return licensor.Errorf(licensor.EINVALID, "lifetime %q: give a whole number of days", d)
		}
		ttl = time.Duration(n) * 24 * time.Hour
	}
	id := r.PathValue("id")
	l, secret, err := c.svc.CreatePortalLink(ctx, tenant, id, strings.TrimSpace(r.PostForm.Get("name")), ttl)
	if err != nil {
		return err
	}
	s.addFlash("secret", "https://"+r.Host+"/portal/open?link="+secret)
	return redirect(w, r, s, "/console/customers/"+id, "Portal link "+l.ID+" created, valid until "+l.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")+": send it to the customer now, it is not shown again.")
}

// revokePortalLink revokes a portal link and ends the portal sessions
// opened with it.
func (c *Console) revokePortalLink(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	l, err := c.svc.RevokePortalLink(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	c.RevokePortalSessions(l.ID)
	return redirect(w, r, s, "/console/customers/"+l.CustomerID, "Portal link "+l.ID+" revoked.")
}
