package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

func portalLinkPB(l *licensor.PortalLink) *v1.PortalLink {
	return &v1.PortalLink{Id: l.ID, TenantId: l.TenantID, CustomerId: l.CustomerID, Name: l.Name, Hint: l.Hint,
		CreatedAt: ts(l.CreatedAt), ExpiresAt: ts(l.ExpiresAt), RevokedAt: ts(l.RevokedAt)}
}

func (h *adminHandler) CreatePortalLink(ctx context.Context, req *connect.Request[v1.CreatePortalLinkRequest]) (*connect.Response[v1.CreatePortalLinkResponse], error) {
	m := req.Msg
	ttl, err := fromDur("ttl", m.GetTtl())
	if err != nil {
		return nil, err
	}
	l, secret, err := h.svc.CreatePortalLink(ctx, m.GetTenantId(), m.GetCustomerId(), m.GetName(), ttl)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreatePortalLinkResponse{Link: portalLinkPB(l), Secret: secret}), nil
}

func (h *adminHandler) ListPortalLinks(ctx context.Context, req *connect.Request[v1.ListPortalLinksRequest]) (*connect.Response[v1.ListPortalLinksResponse], error) {
	m := req.Msg
	ls, err := h.svc.ListPortalLinks(ctx, m.GetTenantId(), licensor.PortalLinkFilter{CustomerID: m.GetCustomerId(),
		IncludeRevoked: m.GetIncludeRevoked(), ListOptions: page(m.GetPageSize(), m.GetPageToken())})
	if err != nil {
		return nil, err
	}
	out := &v1.ListPortalLinksResponse{}
	for _, l := range ls {
		out.Links = append(out.Links, portalLinkPB(l))
	}
	out.NextPageToken = nextPage(len(ls), int(m.GetPageSize()), func() string { return ls[len(ls)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) RevokePortalLink(ctx context.Context, req *connect.Request[v1.RevokePortalLinkRequest]) (*connect.Response[v1.RevokePortalLinkResponse], error) {
	l, err := h.svc.RevokePortalLink(ctx, req.Msg.GetTenantId(), req.Msg.GetPortalLinkId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RevokePortalLinkResponse{Link: portalLinkPB(l)}), nil
}
