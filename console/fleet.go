package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/licensor/licensor"
)

const instancesPage = 50

type instancesView struct {
	F         map[string]string // the filters, as the form shows them
	Instances []*licensor.Instance
	// Next is the link to the next page: the same filters and the cursor.
	Next template.URL
}

// instances searches the tenant's instances, newest hour of check-in
// first, one page at a time by keyset (an opaque cursor from the store).
func (c *Console) instances(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	q := r.URL.Query()
	v := instancesView{F: map[string]string{}}
	next := url.Values{}
	for _, k := range []string{"contract", "customer", "version", "prefix", "seen_since", "seen_before"} {
		v.F[k] = strings.TrimSpace(q.Get(k))
		if v.F[k] != "" {
			next.Set(k, v.F[k])
		}
	}
	search := licensor.InstanceSearch{ContractID: v.F["contract"], CustomerID: v.F["customer"], ProductVersion: v.F["version"],
		IDPrefix: v.F["prefix"], Cursor: q.Get("after"), Limit: instancesPage}
	var err error
	if search.SeenSince, err = queryDate(v.F["seen_since"], "seen since", 0); err != nil {
		return err
	}
	if search.SeenBefore, err = queryDate(v.F["seen_before"], "seen before", 24*time.Hour); err != nil {
		return err
	}
	// An unknown contract or customer (or another tenant's) is not found,
	// not an empty list.
	if search.ContractID != "" {
		if _, err := c.svc.GetContract(ctx, tenant, search.ContractID); err != nil {
			return err
		}
	}
	if search.CustomerID != "" {
		if _, err := c.svc.GetCustomer(ctx, tenant, search.CustomerID); err != nil {
			return err
		}
	}
	var cursor string
	if v.Instances, cursor, err = c.svc.SearchInstances(ctx, tenant, search); err != nil {
		return err
	}
	if cursor != "" {
		next.Set("after", cursor)
		// Built from url.Values: every part is escaped.
		v.Next = template.URL("/console/instances?" + next.Encode())
	}
	return c.render(w, r, s, "instances", "Instances", "instances", v)
}

// queryDate reads a yyyy-mm-dd filter as midnight UTC plus add; "" is the
// zero time.
func queryDate(v, what string, add time.Duration) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return t, licensor.Errorf(licensor.EINVALID, "%s %q: give a date as yyyy-mm-dd (UTC)", what, v)
	}
	return t.Add(add), nil
}

func (c *Console) releaseSeat(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	in, err := c.svc.ReleaseSeat(ctx, tenant, r.PostForm.Get("contract"), r.PostForm.Get("instance"))
	if err != nil {
		return err
	}
	back := r.PostForm.Get("back")
	if !isLocal(back) {
		back = "/console/instances"
	}
	return redirect(w, r, s, back, "Seat of "+in.ID+" released.")
}

func (c *Console) pools(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ps, err := c.svc.ListPools(ctx, tenant, licensor.PoolFilter{ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return err
	}
	return c.render(w, r, s, "pools", "Pools", "pools", ps)
}

type poolView struct {
	P      *licensor.Pool
	Leases []*licensor.Lease
	Chart  Chart
	Range  string
}

// usageRanges are the pool chart's ranges and their periods.
var usageRanges = map[string][2]time.Duration{
	"6h":  {6 * time.Hour, 5 * time.Minute},
	"24h": {24 * time.Hour, 15 * time.Minute},
	"7d":  {7 * 24 * time.Hour, 2 * time.Hour},
}

func (c *Console) pool(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	p, leases, err := c.svc.GetPool(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	rng := r.URL.Query().Get("range")
	if _, ok := usageRanges[rng]; !ok {
		rng = "24h"
	}
	until := c.now().UTC()
	span := usageRanges[rng]
	pts, err := c.svc.PoolUsageSeries(ctx, tenant, p.ID, licensor.SeriesRange{Since: until.Add(-span[0]), Until: until, Step: span[1]})
	if err != nil {
		return err
	}
	v := poolView{P: p, Leases: leases, Range: rng,
		Chart: Chart{Title: "Units in use (most per " + formatDur(span[1]) + ") — " + p.Name, Unit: "units in use",
			From: until.Add(-span[0]), To: until, Series: seriesOf(pts, "")}}
	return c.render(w, r, s, "pool", "Pool "+p.Name, "pools", v)
}

func (c *Console) releaseLease(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	id := r.PathValue("id")
	if err := c.svc.ReleaseLease(ctx, tenant, id); err != nil {
		return err
	}
	back := r.PostForm.Get("back")
	if !isLocal(back) {
		back = "/console/pools"
	}
	return redirect(w, r, s, back, "Lease "+id+" released.")
}
