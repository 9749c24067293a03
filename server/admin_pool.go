package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/service"
)

func (h *adminHandler) CreatePool(ctx context.Context, req *connect.Request[v1.CreatePoolRequest]) (*connect.Response[v1.CreatePoolResponse], error) {
	m := req.Msg
	ttl, err := fromDur("lease_ttl", m.GetLeaseTtl())
	if err != nil {
		return nil, err
	}
	p, err := h.svc.CreatePool(ctx, m.GetTenantId(), licensor.Pool{
		CustomerID: m.GetCustomerId(), ContractID: m.GetContractId(), Name: m.GetName(),
		Features: poolFeatures(m.GetFeatures(), 0), LeaseTTL: ttl, Express: m.GetExpress(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreatePoolResponse{Pool: poolPB(p)}), nil
}

func (h *adminHandler) GetPool(ctx context.Context, req *connect.Request[v1.GetPoolRequest]) (*connect.Response[v1.GetPoolResponse], error) {
	p, ls, err := h.svc.GetPool(ctx, req.Msg.GetTenantId(), req.Msg.GetPoolId())
	if err != nil {
		return nil, err
	}
	out := &v1.GetPoolResponse{Pool: poolPB(p)}
	if out.Pool.Waiting, err = h.waiting(ctx, req.Msg.GetTenantId(), p.ID); err != nil {
		return nil, err
	}
	if out.Reservations, err = h.reservations(ctx, req.Msg.GetTenantId(), p.ID); err != nil {
		return nil, err
	}
	for _, l := range ls {
		out.Leases = append(out.Leases, leasePB(l))
	}
	return connect.NewResponse(out), nil
}

func (h *adminHandler) ListPools(ctx context.Context, req *connect.Request[v1.ListPoolsRequest]) (*connect.Response[v1.ListPoolsResponse], error) {
	m := req.Msg
	ps, err := h.svc.ListPools(ctx, m.GetTenantId(), licensor.PoolFilter{CustomerID: m.GetCustomerId(), ListOptions: page(m.GetPageSize(), m.GetPageToken())})
	if err != nil {
		return nil, err
	}
	out := &v1.ListPoolsResponse{}
	queues, err := h.svc.QueueLengths(ctx, m.GetTenantId())
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		pb := poolPB(p)
		pb.Waiting = int32(min(queues[p.ID], 1<<31-1))
		out.Pools = append(out.Pools, pb)
	}
	out.NextPageToken = nextPage(len(ps), int(m.GetPageSize()), func() string { return ps[len(ps)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) ResizePool(ctx context.Context, req *connect.Request[v1.ResizePoolRequest]) (*connect.Response[v1.ResizePoolResponse], error) {
	m := req.Msg
	ttl, err := fromDur("lease_ttl", m.GetLeaseTtl())
	if err != nil {
		return nil, err
	}
	p, err := h.svc.ResizePool(ctx, m.GetTenantId(), licensor.PoolResize{PoolID: m.GetPoolId(), Features: poolFeatures(m.GetFeatures(), licensor.KeepOverdraft), LeaseTTL: ttl, Express: m.Express})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ResizePoolResponse{Pool: poolPB(p)}), nil
}

func (h *adminHandler) ListLeases(ctx context.Context, req *connect.Request[v1.ListLeasesRequest]) (*connect.Response[v1.ListLeasesResponse], error) {
	m := req.Msg
	ls, err := h.svc.ListLeases(ctx, m.GetTenantId(), licensor.LeaseFilter{
		PoolID: m.GetPoolId(), ContractID: m.GetContractId(), InstanceID: m.GetInstanceId(), ListOptions: page(m.GetPageSize(), m.GetPageToken()),
	})
	if err != nil {
		return nil, err
	}
	out := &v1.ListLeasesResponse{}
	for _, l := range ls {
		out.Leases = append(out.Leases, leasePB(l))
	}
	out.NextPageToken = nextPage(len(ls), int(m.GetPageSize()), func() string { return ls[len(ls)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) ReleaseLease(ctx context.Context, req *connect.Request[v1.ReleaseLeaseRequest]) (*connect.Response[v1.ReleaseLeaseResponse], error) {
	if err := h.svc.ReleaseLease(ctx, req.Msg.GetTenantId(), req.Msg.GetLeaseId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ReleaseLeaseResponse{}), nil
}

func (h *adminHandler) GetUsageReport(ctx context.Context, req *connect.Request[v1.GetUsageReportRequest]) (*connect.Response[v1.GetUsageReportResponse], error) {
	m := req.Msg
	q := service.UsageQuery{PoolID: m.GetPoolId()}
	var err error
	if q.Since, err = fromTS("since", m.GetSince()); err != nil {
		return nil, err
	}
	if q.Until, err = fromTS("until", m.GetUntil()); err != nil {
		return nil, err
	}
	if q.Period, err = fromDur("period", m.GetPeriod()); err != nil {
		return nil, err
	}
	rows, err := h.svc.UsageReport(ctx, m.GetTenantId(), q)
	if err != nil {
		return nil, err
	}
	out := &v1.GetUsageReportResponse{}
	for _, r := range rows {
		out.Rows = append(out.Rows, &v1.UsageRow{
			PoolId: r.PoolID, Feature: r.Feature, PeriodStart: ts(r.PeriodStart), PeakUnits: r.PeakUnits, UnitHours: r.UnitHours, PeakOverage: r.PeakOverage,
			Grants: r.Grants, Denials: r.Denials, Returns: r.Returns, Expiries: r.Expiries,
		})
	}
	if out.Reservations, err = h.reservations(ctx, m.GetTenantId(), m.GetPoolId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// waiting is the length of a pool's queue.
func (h *adminHandler) waiting(ctx context.Context, tenantID, poolID string) (int32, error) {
	queues, err := h.svc.QueueLengths(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	return int32(min(queues[poolID], 1<<31-1)), nil
}

// poolFeatures reads features; unset is the overdraft of a feature that
// names none.
func poolFeatures(fs []*v1.PoolFeatureLimit, unset int64) []licensor.PoolFeature {
	out := make([]licensor.PoolFeature, len(fs))
	for i, f := range fs {
		out[i] = licensor.PoolFeature{Feature: f.GetFeature(), MaxUnits: f.GetMaxUnits(), Overdraft: unset}
		if f.Overdraft != nil {
			out[i].Overdraft = f.GetOverdraft()
		}
	}
	return out
}

func poolPB(p *licensor.Pool) *v1.Pool {
	out := &v1.Pool{
		Id: p.ID, TenantId: p.TenantID, CustomerId: p.CustomerID, ContractId: p.ContractID, Name: p.Name,
		LeaseTtl: dur(p.LeaseTTL), CreatedAt: ts(p.CreatedAt), Express: p.Express,
	}
	for _, f := range p.Features {
		out.Features = append(out.Features, &v1.PoolFeatureLimit{Feature: f.Feature, MaxUnits: f.MaxUnits, InUse: f.InUse, Overdraft: &f.Overdraft, Reserved: f.Reserved})
	}
	return out
}
