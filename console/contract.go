package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/service"
)

type contractsView struct {
	Contracts []*licensor.Contract
	Customers []*licensor.Customer
	Products  []*licensor.Product
	Status    string
	Next      string
}

type contractView struct {
	C         *licensor.Contract
	Customer  string
	Instances []*licensor.Instance
	Tokens    []*licensor.Token
	Features  string // the entitlements as the form edits them
	Metadata  string
}

const contractsPage = 100

func (c *Console) contracts(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	q := r.URL.Query()
	st, err := licensor.ParseContractStatus(q.Get("status"))
	if err != nil {
		return err
	}
	v := contractsView{Status: string(st)}
	if v.Contracts, err = c.svc.ListContracts(ctx, tenant, licensor.ContractFilter{Status: st, CustomerID: q.Get("customer"),
		ListOptions: licensor.ListOptions{Limit: contractsPage, After: q.Get("after")}}); err != nil {
		return err
	}
	if len(v.Contracts) == contractsPage {
		v.Next = v.Contracts[len(v.Contracts)-1].ID
	}
	if v.Customers, err = c.svc.ListCustomers(ctx, tenant, licensor.ListOptions{Limit: licensor.MaxListLimit}); err != nil {
		return err
	}
	if v.Products, err = c.svc.ListProducts(ctx, tenant, licensor.ListOptions{Limit: licensor.MaxListLimit}); err != nil {
		return err
	}
	return c.render(w, r, s, "contracts", "Contracts", "contracts", v)
}

// parseEntitlements reads "solver, cores=8": a boolean feature by name, a
// counted one with its count.
func parseEntitlements(text string) ([]licensor.Entitlement, error) {
	var es []licensor.Entitlement
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, count, counted := strings.Cut(part, "=")
		e := licensor.Entitlement{Feature: strings.TrimSpace(name)}
		if counted {
			n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
			if err != nil || n < 1 {
				return nil, licensor.Errorf(licensor.EINVALID, "feature %q: the count after = must be a whole number of at least 1", e.Feature)
			}
			e.Count = n
		}
		es = append(es, e)
	}
	return es, nil
}

func formatEntitlements(es []licensor.Entitlement) string {
	return funcs["entitlements"].(func([]licensor.Entitlement) string)(es)
}

// formDate reads a yyyy-mm-dd field as midnight UTC; "" is the zero time.
func formDate(r *http.Request, field string) (time.Time, error) {
	v := strings.TrimSpace(r.PostForm.Get(field))
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return t, licensor.Errorf(licensor.EINVALID, "%s %q: give a date as yyyy-mm-dd (UTC)", field, v)
	}
	return t, nil
}

func formInt(r *http.Request, field string) (int, error) {
	v := strings.TrimSpace(r.PostForm.Get(field))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, licensor.Errorf(licensor.EINVALID, "%s %q: give a whole number", field, v)
	}
	return n, nil
}

func (c *Console) createContract(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	es, err := parseEntitlements(r.PostForm.Get("features"))
	if err != nil {
		return err
	}
	ends, err := formDate(r, "ends")
	if err != nil {
		return err
	}
	seats, err := formInt(r, "max_seats")
	if err != nil {
		return err
	}
	ct, err := c.svc.CreateContract(ctx, tenant, licensor.Contract{CustomerID: r.PostForm.Get("customer"), ProductID: r.PostForm.Get("product"),
		Name: strings.TrimSpace(r.PostForm.Get("name")), StartsAt: c.now().UTC(), EndsAt: ends, Features: es, MaxSeats: seats})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/contracts/"+ct.ID, "Contract created.")
}

func (c *Console) contract(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ct, err := c.svc.GetContract(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := contractView{C: ct, Features: formatEntitlements(ct.Features), Metadata: formatMetadata(ct.Metadata)}
	if v.Instances, err = c.svc.ListInstances(ctx, tenant, licensor.InstanceFilter{ContractID: ct.ID, SeatHolders: true,
		ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}}); err != nil {
		return err
	}
	if v.Tokens, err = c.svc.ListTokens(ctx, tenant, licensor.TokenFilter{ContractID: ct.ID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}}); err != nil {
		return err
	}
	return c.render(w, r, s, "contract", "Contract "+ct.ID, "contracts", v)
}

func (c *Console) changeFeatures(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	es, err := parseEntitlements(r.PostForm.Get("features"))
	if err != nil {
		return err
	}
	ch := service.ContractChange{Features: &es}
	if r.PostForm.Has("max_seats") {
		n, err := formInt(r, "max_seats")
		if err != nil {
			return err
		}
		ch.MaxSeats = &n
	}
	ct, err := c.svc.ChangeContract(ctx, tenant, r.PathValue("id"), ch)
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/contracts/"+ct.ID, "Features changed.")
}

func (c *Console) extendContract(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ends, err := formDate(r, "ends")
	if err != nil {
		return err
	}
	ct, err := c.svc.ExtendContract(ctx, tenant, r.PathValue("id"), ends, 0)
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/contracts/"+ct.ID, "Contract extended to "+ct.EndsAt.Format("2006-01-02")+".")
}

// contractStatus suspends or resumes a contract.
func (c *Console) contractStatus(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	st := licensor.ContractStatus(r.PostForm.Get("status"))
	if st != licensor.ContractActive && st != licensor.ContractSuspended {
		return licensor.Errorf(licensor.EINVALID, "status %q: use active or suspended", st)
	}
	ct, err := c.svc.ChangeContract(ctx, tenant, r.PathValue("id"), service.ContractChange{Status: &st})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/contracts/"+ct.ID, "Contract is now "+string(st)+".")
}

func (c *Console) endContract(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ct, err := c.svc.EndContract(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/contracts/"+ct.ID, "Contract ended.")
}

// createContractToken creates a contract token; its secret is shown once.
func (c *Console) createContractToken(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	id := r.PathValue("id")
	t, secret, err := c.svc.CreateToken(ctx, tenant, licensor.Token{Role: licensor.RoleContract, ContractID: id, Name: strings.TrimSpace(r.PostForm.Get("name"))})
	if err != nil {
		return err
	}
	s.addFlash("secret", secret)
	return redirect(w, r, s, "/console/contracts/"+id, "Token "+t.ID+" created: copy its secret now, it is not shown again.")
}

func (c *Console) contractMetadata(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	md, err := parseMetadata(r.PostForm.Get("metadata"))
	if err != nil {
		return err
	}
	ct, err := c.svc.ChangeContract(ctx, tenant, r.PathValue("id"), service.ContractChange{Metadata: &md})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/contracts/"+ct.ID, "Metadata saved.")
}
