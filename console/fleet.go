package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/service"
)

const instancesPage = 50

type instancesView struct {
	Contract  string
	Seats     bool
	Instances []*licensor.Instance
	Next      string // keyset cursor of the next page
}

// instances lists the tenant's instances, optionally of one contract,
// one page at a time by keyset (the cursor is the last row's key).
func (c *Console) instances(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	q := r.URL.Query()
	v := instancesView{Contract: strings.TrimSpace(q.Get("contract")), Seats: q.Get("seats") == "1"}
	if v.Contract != "" {
		// An unknown contract (or another tenant's) is not found, not an
		// empty list.
		if _, err := c.svc.GetContract(ctx, tenant, v.Contract); err != nil {
			return err
		}
	}
	var err error
	v.Instances, err = c.svc.ListInstances(ctx, tenant, licensor.InstanceFilter{ContractID: v.Contract, SeatHolders: v.Seats,
		ListOptions: licensor.ListOptions{Limit: instancesPage, After: q.Get("after")}})
	if err != nil {
		return err
	}
	if len(v.Instances) == instancesPage {
		v.Next = v.Instances[len(v.Instances)-1].Cursor(v.Contract != "")
	}
	return c.render(w, r, s, "instances", "Instances", "instances", v)
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
	// Periods end at until so the last one holds the latest events.
	rows, err := c.svc.UsageReport(ctx, tenant, service.UsageQuery{PoolID: p.ID, Since: until.Add(-span[0]), Until: until, Period: span[1]})
	if err != nil {
		return err
	}
	v := poolView{P: p, Leases: leases, Range: rng,
		Chart: Chart{Title: "Peak units in use per " + funcs["dur"].(func(time.Duration) string)(span[1]) + " — " + p.Name, Unit: "units in use", From: until.Add(-span[0]), To: until}}
	byFeature := map[string]int{}
	for _, row := range rows {
		i, ok := byFeature[row.Feature]
		if !ok {
			i = len(v.Chart.Series)
			byFeature[row.Feature] = i
			v.Chart.Series = append(v.Chart.Series, Series{Name: row.Feature})
		}
		v.Chart.Series[i].Points = append(v.Chart.Series[i].Points, Point{T: row.PeriodStart, V: float64(row.PeakUnits)})
	}
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
