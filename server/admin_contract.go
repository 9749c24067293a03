package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/service"
)

func (h *adminHandler) CreateContract(ctx context.Context, req *connect.Request[v1.CreateContractRequest]) (*connect.Response[v1.CreateContractResponse], error) {
	m := req.Msg
	c := licensor.Contract{
		CustomerID: m.GetCustomerId(), ProductID: m.GetProductId(), Name: m.GetName(),
		Features: entitlements(m.GetFeatures()), SeatRule: licensor.SeatRule(m.GetSeatRule()), MaxSeats: int(m.GetMaxSeats()),
		Fallback: licensor.FallbackRule(m.GetFallback()), ClientCAPEM: m.GetClientCaPem(),
		MaxNonProductionURLs: int(m.GetMaxNonProductionUrls()), Metadata: m.GetMetadata(),
		RefuseClones: m.GetRefuseClones(),
	}
	var err error
	if c.StartsAt, err = fromTS("starts_at", m.GetStartsAt()); err != nil {
		return nil, err
	}
	if c.EndsAt, err = fromTS("ends_at", m.GetEndsAt()); err != nil {
		return nil, err
	}
	if c.LicenseValidity, err = fromDur("license_validity", m.GetLicenseValidity()); err != nil {
		return nil, err
	}
	if c.RefreshInterval, err = fromDur("refresh_interval", m.GetRefreshInterval()); err != nil {
		return nil, err
	}
	if c.MaxBorrow, err = fromDur("max_borrow", m.GetMaxBorrow()); err != nil {
		return nil, err
	}
	out, err := h.svc.CreateContract(ctx, m.GetTenantId(), c)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateContractResponse{Contract: contractPB(out)}), nil
}

func (h *adminHandler) GetContract(ctx context.Context, req *connect.Request[v1.GetContractRequest]) (*connect.Response[v1.GetContractResponse], error) {
	c, err := h.svc.GetContract(ctx, req.Msg.GetTenantId(), req.Msg.GetContractId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetContractResponse{Contract: contractPB(c)}), nil
}

func (h *adminHandler) ListContracts(ctx context.Context, req *connect.Request[v1.ListContractsRequest]) (*connect.Response[v1.ListContractsResponse], error) {
	m := req.Msg
	cs, err := h.svc.ListContracts(ctx, m.GetTenantId(), licensor.ContractFilter{
		CustomerID: m.GetCustomerId(), Status: licensor.ContractStatus(m.GetStatus()), ListOptions: page(m.GetPageSize(), m.GetPageToken()),
	})
	if err != nil {
		return nil, err
	}
	out := &v1.ListContractsResponse{}
	for _, c := range cs {
		out.Contracts = append(out.Contracts, contractPB(c))
	}
	out.NextPageToken = nextPage(len(cs), int(m.GetPageSize()), func() string { return cs[len(cs)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) ChangeContract(ctx context.Context, req *connect.Request[v1.ChangeContractRequest]) (*connect.Response[v1.ChangeContractResponse], error) {
	m := req.Msg
	ch := service.ContractChange{Name: m.Name, ClientCAPEM: m.ClientCaPem, ExpectedVersion: m.GetExpectedVersion()}
	if m.GetSetMetadata() {
		md := licensor.Metadata(m.GetMetadata())
		ch.Metadata = &md
	}
	if m.GetSetFeatures() {
		fs := entitlements(m.GetFeatures())
		ch.Features = &fs
	}
	var err error
	if ch.LicenseValidity, err = optDur("license_validity", m.GetLicenseValidity()); err != nil {
		return nil, err
	}
	if ch.RefreshInterval, err = optDur("refresh_interval", m.GetRefreshInterval()); err != nil {
		return nil, err
	}
	if ch.MaxBorrow, err = optDur("max_borrow", m.GetMaxBorrow()); err != nil {
		return nil, err
	}
	if m.MaxSeats != nil {
		n := int(m.GetMaxSeats())
		ch.MaxSeats = &n
	}
	if m.MaxNonProductionUrls != nil {
		n := int(m.GetMaxNonProductionUrls())
		ch.MaxNonProductionURLs = &n
	}
	if m.RefuseClones != nil {
		b := m.GetRefuseClones()
		ch.RefuseClones = &b
	}
	if m.Fallback != nil {
		f := licensor.FallbackRule(m.GetFallback())
		ch.Fallback = &f
	}
	if m.Status != nil {
		st := licensor.ContractStatus(m.GetStatus())
		ch.Status = &st
	}
	c, err := h.svc.ChangeContract(ctx, m.GetTenantId(), m.GetContractId(), ch)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ChangeContractResponse{Contract: contractPB(c)}), nil
}

func (h *adminHandler) ExtendContract(ctx context.Context, req *connect.Request[v1.ExtendContractRequest]) (*connect.Response[v1.ExtendContractResponse], error) {
	m := req.Msg
	endsAt, err := fromTS("ends_at", m.GetEndsAt())
	if err != nil {
		return nil, err
	}
	by, err := fromDur("extend_by", m.GetExtendBy())
	if err != nil {
		return nil, err
	}
	c, err := h.svc.ExtendContract(ctx, m.GetTenantId(), m.GetContractId(), endsAt, by)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ExtendContractResponse{Contract: contractPB(c)}), nil
}

func (h *adminHandler) EndContract(ctx context.Context, req *connect.Request[v1.EndContractRequest]) (*connect.Response[v1.EndContractResponse], error) {
	c, err := h.svc.EndContract(ctx, req.Msg.GetTenantId(), req.Msg.GetContractId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.EndContractResponse{Contract: contractPB(c)}), nil
}

func (h *adminHandler) IssueLicenseFile(ctx context.Context, req *connect.Request[v1.IssueLicenseFileRequest]) (*connect.Response[v1.IssueLicenseFileResponse], error) {
	m := req.Msg
	validity, err := fromDur("validity", m.GetValidity())
	if err != nil {
		return nil, err
	}
	file, is, err := h.svc.IssueLicenseFile(ctx, m.GetTenantId(), m.GetContractId(), m.GetInstanceId(), m.GetEnvironment(), validity)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.IssueLicenseFileResponse{LicenseFile: file, License: issuedPB(is)}), nil
}
