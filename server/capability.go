package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/service"
)

// capabilityHandler serves licensor.v1.CapabilityService.
type capabilityHandler struct {
	svc      *service.Service
	stopping <-chan struct{}
	waits    *waitBound
}

var _ licensorv1connect.CapabilityServiceHandler = (*capabilityHandler)(nil)

func (h *capabilityHandler) RequestCapabilities(ctx context.Context, req *connect.Request[v1.RequestCapabilitiesRequest]) (*connect.Response[v1.RequestCapabilitiesResponse], error) {
	m := req.Msg
	borrow, err := fromDur("borrow", m.GetBorrow())
	if err != nil {
		return nil, err
	}
	ans, err := h.svc.RequestCapabilities(ctx, service.CapabilityRequest{
		ContractID: m.GetContractId(), InstanceID: m.GetInstanceId(), Units: unitsFrom(m.GetCapabilities()),
		Preview: m.GetPreview(), AllowPartial: m.GetAllowPartial(), Borrow: borrow,
		RequestID: m.GetRequestId(), PoolID: m.GetPoolId(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(answerPB(ans)), nil
}

func answerPB(ans *service.CapabilityAnswer) *v1.RequestCapabilitiesResponse {
	out := &v1.RequestCapabilitiesResponse{Granted: ans.Granted, Preview: ans.Preview, CapabilityToken: ans.Token}
	if ans.Lease != nil {
		out.Lease = leasePB(ans.Lease)
	}
	for _, sh := range ans.Shortages {
		out.Shortages = append(out.Shortages, &v1.Shortage{
			Feature: sh.Feature, Requested: sh.Requested, Available: sh.Available, Short: sh.Short, NextRelease: ts(sh.NextRelease),
			Queued: sh.Queued,
		})
	}
	return out
}

func (h *capabilityHandler) ReturnCapabilities(ctx context.Context, req *connect.Request[v1.ReturnCapabilitiesRequest]) (*connect.Response[v1.ReturnCapabilitiesResponse], error) {
	m := req.Msg
	l, err := h.svc.ReturnCapabilities(ctx, m.GetContractId(), m.GetInstanceId(), m.GetLeaseId(), unitsFrom(m.GetUnits()))
	if err != nil {
		return nil, err
	}
	out := &v1.ReturnCapabilitiesResponse{}
	if l != nil {
		out.Lease = leasePB(l)
	}
	return connect.NewResponse(out), nil
}

func (h *capabilityHandler) RenewLease(ctx context.Context, req *connect.Request[v1.RenewLeaseRequest]) (*connect.Response[v1.RenewLeaseResponse], error) {
	m := req.Msg
	l, tok, err := h.svc.RenewLease(ctx, m.GetContractId(), m.GetInstanceId(), m.GetLeaseId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RenewLeaseResponse{Lease: leasePB(l), CapabilityToken: tok}), nil
}

func (h *capabilityHandler) ListFeatures(ctx context.Context, req *connect.Request[v1.ListFeaturesRequest]) (*connect.Response[v1.ListFeaturesResponse], error) {
	ls, fs, err := h.svc.ListCapabilityFeatures(ctx, req.Msg.GetContractId(), req.Msg.GetInstanceId())
	if err != nil {
		return nil, err
	}
	out := &v1.ListFeaturesResponse{}
	for _, l := range ls {
		out.Leases = append(out.Leases, leasePB(l))
	}
	for _, f := range fs {
		out.Features = append(out.Features, &v1.PoolFeature{
			PoolId: f.PoolID, Feature: f.Feature, MaxUnits: f.MaxUnits, InUse: f.InUse, Free: f.Free(), HeldByInstance: f.HeldByInstance, Overdraft: f.Overdraft,
		})
	}
	return connect.NewResponse(out), nil
}

func unitsFrom(us []*v1.CapabilityUnits) []licensor.Units {
	out := make([]licensor.Units, len(us))
	for i, u := range us {
		out[i] = licensor.Units{Feature: u.GetFeature(), Units: u.GetUnits()}
	}
	return out
}

func unitsPB(us []licensor.Units) []*v1.CapabilityUnits {
	out := make([]*v1.CapabilityUnits, len(us))
	for i, u := range us {
		out[i] = &v1.CapabilityUnits{Feature: u.Feature, Units: u.Units}
	}
	return out
}

func leasePB(l *licensor.Lease) *v1.Lease {
	return &v1.Lease{
		Id: l.ID, PoolId: l.PoolID, ContractId: l.ContractID, InstanceId: l.InstanceID, Units: unitsPB(l.Units),
		CreatedAt: ts(l.CreatedAt), ExpiresAt: ts(l.ExpiresAt), Borrowed: l.Borrowed, Overage: unitsPB(l.Overage),
	}
}
