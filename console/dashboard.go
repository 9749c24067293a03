package console

import (
	"net/http"
	"time"

	"github.com/licensor/licensor"
)

type dashboardView struct {
	D        *licensor.Dashboard
	Ending   []*licensor.Contract // within 30 days, at most endingShown
	Pools    []poolUse
	Licenses Chart
}

type poolUse struct {
	licensor.PoolFeatureUse
	Percent int
}

const (
	endingWithin = 30 * 24 * time.Hour
	endingShown  = 20
)

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	d, err := c.svc.Dashboard(ctx, tenant)
	if err != nil {
		return err
	}
	v := dashboardView{D: d, Licenses: Chart{Title: "Licenses issued per hour, last 24 hours", Unit: "licenses per hour",
		From: d.Now.Add(-24 * time.Hour).Truncate(time.Hour), To: d.Now.Truncate(time.Hour),
		Series: []Series{hourSeries("check-ins with telemetry", d.CheckinsPerHour), hourSeries("static license files", d.LicenseFilesPerHour)}}}
	for _, u := range d.Pools {
		p := poolUse{PoolFeatureUse: u}
		if u.MaxUnits > 0 {
			p.Percent = int(100 * u.InUse / u.MaxUnits)
		}
		v.Pools = append(v.Pools, p)
	}
	if d.ContractsEnding30d > 0 {
		active, err := c.svc.ListContracts(ctx, tenant, licensor.ContractFilter{Status: licensor.ContractActive, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
		if err != nil {
			return err
		}
		for _, ct := range active {
			if !ct.EndsAt.IsZero() && ct.EndsAt.Sub(d.Now) <= endingWithin && len(v.Ending) < endingShown {
				v.Ending = append(v.Ending, ct)
			}
		}
	}
	return c.render(w, r, s, "dashboard", "Dashboard", "dashboard", v)
}

func hourSeries(name string, hs []licensor.HourCount) Series {
	s := Series{Name: name, Points: make([]Point, len(hs))}
	for i, h := range hs {
		s.Points[i] = Point{T: h.Hour, V: float64(h.Count)}
	}
	return s
}

// seriesOf turns a store series into chart lines, one per key, in the
// order the keys first appear; an empty key is named by empty.
func seriesOf(points []licensor.SeriesPoint, empty string) []Series {
	var out []Series
	idx := map[string]int{}
	for _, p := range points {
		i, ok := idx[p.Key]
		if !ok {
			i = len(out)
			idx[p.Key] = i
			name := p.Key
			if name == "" {
				name = empty
			}
			out = append(out, Series{Name: name})
		}
		out[i].Points = append(out[i].Points, Point{T: p.At, V: float64(p.Value)})
	}
	return out
}

type telemetryView struct {
	Contract string
	Range    string
	Sum      *licensor.FleetSummary
	Versions *Chart // versions in the fleet over time
}

// telemetryRanges are the versions chart's ranges and their steps.
var telemetryRanges = map[string][2]time.Duration{
	"24h": {24 * time.Hour, time.Hour},
	"7d":  {7 * 24 * time.Hour, 6 * time.Hour},
	"30d": {30 * 24 * time.Hour, 24 * time.Hour},
}

func (c *Console) telemetry(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	v := telemetryView{Contract: r.URL.Query().Get("contract"), Range: r.URL.Query().Get("range")}
	span, ok := telemetryRanges[v.Range]
	if !ok {
		v.Range, span = "7d", telemetryRanges["7d"]
	}
	var err error
	if v.Sum, err = c.svc.GetFleetSummary(ctx, tenant, v.Contract); err != nil {
		return err
	}
	until := c.now().UTC()
	pts, err := c.svc.TelemetryVersionSeries(ctx, tenant, licensor.SeriesRange{Since: until.Add(-span[0]), Until: until, Step: span[1]})
	if err != nil {
		return err
	}
	v.Versions = &Chart{Title: "Product versions in the fleet, instances reporting each per " + formatDur(span[1]), Unit: "instances",
		From: until.Add(-span[0]), To: until, Series: seriesOf(pts, "(none reported)")}
	return c.render(w, r, s, "telemetry", "Telemetry", "telemetry", v)
}
