package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/service"
)

// adminHandler serves licensor.v1.AdminService. A method this handler
// does not implement answers UNIMPLEMENTED through the embedded type, so
// that a proto newer than the server fails clearly.
type adminHandler struct {
	licensorv1connect.UnimplementedAdminServiceHandler
	svc *service.Service
}

func (h *adminHandler) CreateTenant(ctx context.Context, req *connect.Request[v1.CreateTenantRequest]) (*connect.Response[v1.CreateTenantResponse], error) {
	m := req.Msg
	waitCeiling, err := fromDur("queue_wait_ceiling", m.GetQueueWaitCeiling())
	if err != nil {
		return nil, err
	}
	t, secret, err := h.svc.CreateTenant(ctx, licensor.Tenant{
		Name: m.GetName(), ConcurrencyLimit: int(m.GetConcurrencyLimit()),
		ConcurrencyCeiling: int(m.GetConcurrencyCeiling()), QueueWaitCeiling: waitCeiling,
	}, m.GetCreateAdminToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateTenantResponse{Tenant: tenantPB(t), AdminToken: secret}), nil
}

func (h *adminHandler) GetTenant(ctx context.Context, req *connect.Request[v1.GetTenantRequest]) (*connect.Response[v1.GetTenantResponse], error) {
	t, err := h.svc.GetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetTenantResponse{Tenant: tenantPB(t)}), nil
}

func (h *adminHandler) ListTenants(ctx context.Context, req *connect.Request[v1.ListTenantsRequest]) (*connect.Response[v1.ListTenantsResponse], error) {
	m := req.Msg
	ts, err := h.svc.ListTenants(ctx, page(m.GetPageSize(), m.GetPageToken()))
	if err != nil {
		return nil, err
	}
	out := &v1.ListTenantsResponse{}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, tenantPB(t))
	}
	out.NextPageToken = nextPage(len(ts), int(m.GetPageSize()), func() string { return ts[len(ts)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) UpdateTenant(ctx context.Context, req *connect.Request[v1.UpdateTenantRequest]) (*connect.Response[v1.UpdateTenantResponse], error) {
	m := req.Msg
	u := service.TenantUpdate{Name: m.Name}
	if m.ConcurrencyLimit != nil {
		n := int(m.GetConcurrencyLimit())
		u.ConcurrencyLimit = &n
	}
	if m.ConcurrencyCeiling != nil {
		n := int(m.GetConcurrencyCeiling())
		u.ConcurrencyCeiling = &n
	}
	var err error
	if u.QueueWait, err = optDur("queue_wait", m.GetQueueWait()); err != nil {
		return nil, err
	}
	if u.QueueWaitCeiling, err = optDur("queue_wait_ceiling", m.GetQueueWaitCeiling()); err != nil {
		return nil, err
	}
	if u.ExpiryWarning, err = optDur("expiry_warning", m.GetExpiryWarning()); err != nil {
		return nil, err
	}
	if u.TelemetryRetention, err = optDur("telemetry_retention", m.GetTelemetryRetention()); err != nil {
		return nil, err
	}
	if m.GetSetTelemetryFieldsDropped() {
		fs := m.GetTelemetryFieldsDropped()
		u.TelemetryFieldsDropped = &fs
	}
	u.TruncateIPs = m.TruncateIps
	t, err := h.svc.UpdateTenant(ctx, m.GetTenantId(), u)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateTenantResponse{Tenant: tenantPB(t)}), nil
}

func (h *adminHandler) CreateProduct(ctx context.Context, req *connect.Request[v1.CreateProductRequest]) (*connect.Response[v1.CreateProductResponse], error) {
	p, err := h.svc.CreateProduct(ctx, req.Msg.GetTenantId(), licensor.Product{Name: req.Msg.GetName()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateProductResponse{Product: productPB(p)}), nil
}

func (h *adminHandler) ListProducts(ctx context.Context, req *connect.Request[v1.ListProductsRequest]) (*connect.Response[v1.ListProductsResponse], error) {
	m := req.Msg
	ps, err := h.svc.ListProducts(ctx, m.GetTenantId(), page(m.GetPageSize(), m.GetPageToken()))
	if err != nil {
		return nil, err
	}
	out := &v1.ListProductsResponse{}
	for _, p := range ps {
		out.Products = append(out.Products, productPB(p))
	}
	out.NextPageToken = nextPage(len(ps), int(m.GetPageSize()), func() string { return ps[len(ps)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) CreateFeature(ctx context.Context, req *connect.Request[v1.CreateFeatureRequest]) (*connect.Response[v1.CreateFeatureResponse], error) {
	m := req.Msg
	f, err := h.svc.CreateFeature(ctx, m.GetTenantId(), licensor.Feature{
		ProductID: m.GetProductId(), Name: m.GetName(), Kind: licensor.FeatureKind(m.GetKind()), Description: m.GetDescription(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateFeatureResponse{Feature: featurePB(f)}), nil
}

func (h *adminHandler) ListProductFeatures(ctx context.Context, req *connect.Request[v1.ListProductFeaturesRequest]) (*connect.Response[v1.ListProductFeaturesResponse], error) {
	fs, err := h.svc.ListFeatures(ctx, req.Msg.GetTenantId(), req.Msg.GetProductId())
	if err != nil {
		return nil, err
	}
	out := &v1.ListProductFeaturesResponse{}
	for _, f := range fs {
		out.Features = append(out.Features, featurePB(f))
	}
	return connect.NewResponse(out), nil
}

func (h *adminHandler) CreateCustomer(ctx context.Context, req *connect.Request[v1.CreateCustomerRequest]) (*connect.Response[v1.CreateCustomerResponse], error) {
	c, err := h.svc.CreateCustomer(ctx, req.Msg.GetTenantId(), licensor.Customer{Name: req.Msg.GetName(), Email: req.Msg.GetEmail(), Metadata: req.Msg.GetMetadata()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateCustomerResponse{Customer: customerPB(c)}), nil
}

func (h *adminHandler) ListCustomers(ctx context.Context, req *connect.Request[v1.ListCustomersRequest]) (*connect.Response[v1.ListCustomersResponse], error) {
	m := req.Msg
	cs, err := h.svc.ListCustomers(ctx, m.GetTenantId(), page(m.GetPageSize(), m.GetPageToken()))
	if err != nil {
		return nil, err
	}
	out := &v1.ListCustomersResponse{}
	for _, c := range cs {
		out.Customers = append(out.Customers, customerPB(c))
	}
	out.NextPageToken = nextPage(len(cs), int(m.GetPageSize()), func() string { return cs[len(cs)-1].ID })
	return connect.NewResponse(out), nil
}
