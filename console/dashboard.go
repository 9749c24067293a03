package console

import (
	"net/http"
	"time"

	"github.com/licensor/licensor"
)

type dashboardView struct {
	ActiveInstances int64
	OpenAlerts      int
	Ending          []*licensor.Contract // within 30 days
	Pools           []poolUse
	Licenses        Chart
}

type poolUse struct {
	PoolID, Feature string
	InUse, Max      int64
	Percent         int
}

const endingWithin = 30 * 24 * time.Hour

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	now := c.now().UTC()
	v := dashboardView{}
	sum, err := c.svc.GetFleetSummary(ctx, tenant, "")
	if err != nil {
		return err
	}
	v.ActiveInstances = sum.Instances
	alerts, err := c.svc.ListAlerts(ctx, tenant, licensor.AlertFilter{ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return err
	}
	v.OpenAlerts = len(alerts)
	active, err := c.svc.ListContracts(ctx, tenant, licensor.ContractFilter{Status: licensor.ContractActive, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return err
	}
	for _, ct := range active {
		if !ct.EndsAt.IsZero() && ct.EndsAt.Sub(now) <= endingWithin {
			v.Ending = append(v.Ending, ct)
		}
	}
	sctx, _, err := c.svc.AdminScope(ctx, tenant)
	if err != nil {
		return err
	}
	use, err := c.svc.PoolUse(sctx, false)
	if err != nil {
		return err
	}
	for _, u := range use {
		p := poolUse{PoolID: u.PoolID, Feature: u.Feature, InUse: u.InUse, Max: u.MaxUnits}
		if u.MaxUnits > 0 {
			p.Percent = int(100 * u.InUse / u.MaxUnits)
		}
		v.Pools = append(v.Pools, p)
	}
	return c.render(w, r, s, "dashboard", "Dashboard", "dashboard", v)
}

type telemetryView struct {
	Contract string
	Sum      *licensor.FleetSummary
	Versions *Chart // versions in the fleet over time
}

func (c *Console) telemetry(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	v := telemetryView{Contract: r.URL.Query().Get("contract")}
	var err error
	if v.Sum, err = c.svc.GetFleetSummary(ctx, tenant, v.Contract); err != nil {
		return err
	}
	return c.render(w, r, s, "telemetry", "Telemetry", "telemetry", v)
}
