package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/service"
)

func (h *adminHandler) CreateToken(ctx context.Context, req *connect.Request[v1.CreateTokenRequest]) (*connect.Response[v1.CreateTokenResponse], error) {
	m := req.Msg
	exp, err := fromTS("expires_at", m.GetExpiresAt())
	if err != nil {
		return nil, err
	}
	t, secret, err := h.svc.CreateToken(ctx, m.GetTenantId(), licensor.Token{
		Role: licensor.Role(m.GetRole()), ContractID: m.GetContractId(), Name: m.GetName(), ExpiresAt: exp,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateTokenResponse{Token: tokenPB(t), Secret: secret}), nil
}

func (h *adminHandler) ListTokens(ctx context.Context, req *connect.Request[v1.ListTokensRequest]) (*connect.Response[v1.ListTokensResponse], error) {
	m := req.Msg
	ts, err := h.svc.ListTokens(ctx, m.GetTenantId(), licensor.TokenFilter{
		ContractID: m.GetContractId(), IncludeRevoked: m.GetIncludeRevoked(), ListOptions: page(m.GetPageSize(), m.GetPageToken()),
	})
	if err != nil {
		return nil, err
	}
	out := &v1.ListTokensResponse{}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, tokenPB(t))
	}
	out.NextPageToken = nextPage(len(ts), int(m.GetPageSize()), func() string { return ts[len(ts)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) RevokeToken(ctx context.Context, req *connect.Request[v1.RevokeTokenRequest]) (*connect.Response[v1.RevokeTokenResponse], error) {
	t, err := h.svc.RevokeToken(ctx, req.Msg.GetTenantId(), req.Msg.GetTokenId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RevokeTokenResponse{Token: tokenPB(t)}), nil
}

func (h *adminHandler) RotateSigningKey(ctx context.Context, req *connect.Request[v1.RotateSigningKeyRequest]) (*connect.Response[v1.RotateSigningKeyResponse], error) {
	after, err := optDur("activate_after", req.Msg.GetActivateAfter())
	if err != nil {
		return nil, err
	}
	opts := service.RotateOptions{ActivateAfter: after, Force: req.Msg.GetForce()}
	k, err := h.svc.RotateSigningKey(ctx, req.Msg.GetTenantId(), opts)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RotateSigningKeyResponse{Key: keyPB(k, h.svc.Now())}), nil
}

func (h *adminHandler) ListSigningKeys(ctx context.Context, req *connect.Request[v1.ListSigningKeysRequest]) (*connect.Response[v1.ListSigningKeysResponse], error) {
	ks, err := h.svc.ListSigningKeys(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	out := &v1.ListSigningKeysResponse{}
	now := h.svc.Now()
	for _, k := range ks {
		out.Keys = append(out.Keys, keyPB(k, now))
	}
	return connect.NewResponse(out), nil
}

func (h *adminHandler) ListInstances(ctx context.Context, req *connect.Request[v1.ListInstancesRequest]) (*connect.Response[v1.ListInstancesResponse], error) {
	m := req.Msg
	is, err := h.svc.ListInstances(ctx, m.GetTenantId(), licensor.InstanceFilter{ContractID: m.GetContractId(), ListOptions: page(m.GetPageSize(), m.GetPageToken())})
	if err != nil {
		return nil, err
	}
	out := &v1.ListInstancesResponse{}
	for _, i := range is {
		out.Instances = append(out.Instances, instancePB(i))
	}
	out.NextPageToken = nextPage(len(is), int(m.GetPageSize()), func() string { return is[len(is)-1].Cursor(m.GetContractId() != "") })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) GetInstance(ctx context.Context, req *connect.Request[v1.GetInstanceRequest]) (*connect.Response[v1.GetInstanceResponse], error) {
	m := req.Msg
	i, err := h.svc.GetInstance(ctx, m.GetTenantId(), m.GetContractId(), m.GetInstanceId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetInstanceResponse{Instance: instancePB(i)}), nil
}

func (h *adminHandler) ReleaseSeat(ctx context.Context, req *connect.Request[v1.ReleaseSeatRequest]) (*connect.Response[v1.ReleaseSeatResponse], error) {
	m := req.Msg
	i, err := h.svc.ReleaseSeat(ctx, m.GetTenantId(), m.GetContractId(), m.GetInstanceId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ReleaseSeatResponse{Instance: instancePB(i)}), nil
}

func (h *adminHandler) ListAuditEntries(ctx context.Context, req *connect.Request[v1.ListAuditEntriesRequest]) (*connect.Response[v1.ListAuditEntriesResponse], error) {
	m := req.Msg
	f := licensor.AuditFilter{TokenID: m.GetTokenId(), ObjectType: m.GetObjectType(), ObjectID: m.GetObjectId(), ListOptions: page(m.GetPageSize(), m.GetPageToken())}
	var err error
	if f.Since, err = fromTS("since", m.GetSince()); err != nil {
		return nil, err
	}
	if f.Until, err = fromTS("until", m.GetUntil()); err != nil {
		return nil, err
	}
	es, err := h.svc.ListAudit(ctx, m.GetTenantId(), f)
	if err != nil {
		return nil, err
	}
	out := &v1.ListAuditEntriesResponse{}
	for _, e := range es {
		out.Entries = append(out.Entries, auditPB(e))
	}
	out.NextPageToken = nextPage(len(es), int(m.GetPageSize()), func() string { return es[len(es)-1].ID })
	return connect.NewResponse(out), nil
}
