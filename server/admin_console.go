package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

func (h *adminHandler) SearchInstances(ctx context.Context, req *connect.Request[v1.SearchInstancesRequest]) (*connect.Response[v1.SearchInstancesResponse], error) {
	m := req.Msg
	q := licensor.InstanceSearch{ContractID: m.GetContractId(), CustomerID: m.GetCustomerId(), ProductVersion: m.GetProductVersion(),
		IDPrefix: m.GetInstanceIdPrefix(), Cursor: m.GetPageToken(), Limit: int(m.GetPageSize())}
	var err error
	if q.SeenSince, err = fromTS("seen_since", m.GetSeenSince()); err != nil {
		return nil, err
	}
	if q.SeenBefore, err = fromTS("seen_before", m.GetSeenBefore()); err != nil {
		return nil, err
	}
	is, next, err := h.svc.SearchInstances(ctx, m.GetTenantId(), q)
	if err != nil {
		return nil, err
	}
	out := &v1.SearchInstancesResponse{NextPageToken: next}
	for _, i := range is {
		out.Instances = append(out.Instances, instancePB(i))
	}
	return connect.NewResponse(out), nil
}

func (h *adminHandler) GetDashboard(ctx context.Context, req *connect.Request[v1.GetDashboardRequest]) (*connect.Response[v1.GetDashboardResponse], error) {
	d, err := h.svc.Dashboard(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	out := &v1.GetDashboardResponse{Now: ts(d.Now), ActiveInstances: d.ActiveInstances, ContractsEnding_30D: d.ContractsEnding30d,
		OpenAlerts: d.OpenAlerts, CheckinsPerHour: hourCountsPB(d.CheckinsPerHour), LicenseFilesPerHour: hourCountsPB(d.LicenseFilesPerHour)}
	for _, p := range d.Pools {
		out.Pools = append(out.Pools, &v1.PoolFeatureUse{PoolId: p.PoolID, PoolName: p.PoolName, Feature: p.Feature, InUse: p.InUse, MaxUnits: p.MaxUnits})
	}
	return connect.NewResponse(out), nil
}

func hourCountsPB(hs []licensor.HourCount) []*v1.HourCount {
	out := make([]*v1.HourCount, len(hs))
	for i, h := range hs {
		out[i] = &v1.HourCount{Hour: ts(h.Hour), Count: h.Count}
	}
	return out
}

func seriesRange(r *v1.SeriesRange) (licensor.SeriesRange, error) {
	var out licensor.SeriesRange
	var err error
	if out.Since, err = fromTS("range.since", r.GetSince()); err != nil {
		return out, err
	}
	if out.Until, err = fromTS("range.until", r.GetUntil()); err != nil {
		return out, err
	}
	out.Step, err = fromDur("range.step", r.GetStep())
	return out, err
}

func seriesPB(ps []licensor.SeriesPoint) []*v1.SeriesPoint {
	out := make([]*v1.SeriesPoint, len(ps))
	for i, p := range ps {
		out[i] = &v1.SeriesPoint{At: ts(p.At), Key: p.Key, Value: p.Value}
	}
	return out
}

func (h *adminHandler) GetPoolUsageSeries(ctx context.Context, req *connect.Request[v1.GetPoolUsageSeriesRequest]) (*connect.Response[v1.GetPoolUsageSeriesResponse], error) {
	r, err := seriesRange(req.Msg.GetRange())
	if err != nil {
		return nil, err
	}
	ps, err := h.svc.PoolUsageSeries(ctx, req.Msg.GetTenantId(), req.Msg.GetPoolId(), r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetPoolUsageSeriesResponse{Points: seriesPB(ps)}), nil
}

func (h *adminHandler) GetTelemetryVersionSeries(ctx context.Context, req *connect.Request[v1.GetTelemetryVersionSeriesRequest]) (*connect.Response[v1.GetTelemetryVersionSeriesResponse], error) {
	r, err := seriesRange(req.Msg.GetRange())
	if err != nil {
		return nil, err
	}
	ps, err := h.svc.TelemetryVersionSeries(ctx, req.Msg.GetTenantId(), r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetTelemetryVersionSeriesResponse{Points: seriesPB(ps)}), nil
}
