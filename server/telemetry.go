package server

import (
	"context"
	"maps"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// telemetryFromPB converts what an instance sent; nil stays nil (no
// telemetry, which keeps the instance's latest as it is). Only the message
// body is read: nothing of the request's headers reaches telemetry.
func telemetryFromPB(t *v1.Telemetry) *licensor.Telemetry {
	if t == nil {
		return nil
	}
	return &licensor.Telemetry{
		ProductVersion:  t.GetProductVersion(),
		RuntimeVersions: maps.Clone(t.GetRuntimeVersions()),
		Environment:     t.GetEnvironment(),
		ServerHost:      t.GetServerHost(),
		ServerIP:        t.GetServerIp(),
		ServerPort:      int(t.GetServerPort()),
		AppName:         t.GetAppName(),
		Usage:           maps.Clone(t.GetUsage()),
		Labels:          maps.Clone(t.GetLabels()),
	}
}

func telemetryPB(t *licensor.Telemetry) *v1.Telemetry {
	if t == nil {
		return nil
	}
	return &v1.Telemetry{
		ProductVersion: t.ProductVersion, RuntimeVersions: t.RuntimeVersions, Environment: t.Environment,
		ServerHost: t.ServerHost, ServerIp: t.ServerIP, ServerPort: uint32(t.ServerPort), AppName: t.AppName,
		Usage: t.Usage, Labels: t.Labels,
	}
}

func (h *adminHandler) GetTelemetryHistory(ctx context.Context, req *connect.Request[v1.GetTelemetryHistoryRequest]) (*connect.Response[v1.GetTelemetryHistoryResponse], error) {
	m := req.Msg
	f := licensor.TelemetryFilter{ContractID: m.GetContractId(), InstanceID: m.GetInstanceId(), ListOptions: page(m.GetPageSize(), m.GetPageToken())}
	var err error
	if f.Since, err = fromTS("since", m.GetSince()); err != nil {
		return nil, err
	}
	if f.Until, err = fromTS("until", m.GetUntil()); err != nil {
		return nil, err
	}
	ps, err := h.svc.GetTelemetryHistory(ctx, m.GetTenantId(), f)
	if err != nil {
		return nil, err
	}
	out := &v1.GetTelemetryHistoryResponse{}
	for _, p := range ps {
		out.Points = append(out.Points, &v1.TelemetryPoint{At: ts(p.At), InstanceId: p.InstanceID, Telemetry: telemetryPB(&p.Telemetry)})
	}
	out.NextPageToken = nextPage(len(ps), int(m.GetPageSize()), func() string { return ps[len(ps)-1].Cursor() })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) GetFleetSummary(ctx context.Context, req *connect.Request[v1.GetFleetSummaryRequest]) (*connect.Response[v1.GetFleetSummaryResponse], error) {
	s, err := h.svc.GetFleetSummary(ctx, req.Msg.GetTenantId(), req.Msg.GetContractId())
	if err != nil {
		return nil, err
	}
	counts := func(cs []licensor.CountByValue) []*v1.CountByValue {
		out := make([]*v1.CountByValue, len(cs))
		for i, c := range cs {
			out[i] = &v1.CountByValue{Value: c.Value, Instances: c.Instances}
		}
		return out
	}
	out := &v1.GetFleetSummaryResponse{
		Instances: s.Instances, ProductVersions: counts(s.ProductVersions),
		Environments: counts(s.Environments), RuntimeVersions: counts(s.RuntimeVersions),
	}
	for _, c := range s.Counters {
		out.Counters = append(out.Counters, &v1.CounterSummary{Name: c.Name, Sum: c.Sum, Max: c.Max, Instances: c.Instances})
	}
	return connect.NewResponse(out), nil
}
