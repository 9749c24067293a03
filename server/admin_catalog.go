package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/service"
)

func (h *adminHandler) GetCustomer(ctx context.Context, req *connect.Request[v1.GetCustomerRequest]) (*connect.Response[v1.GetCustomerResponse], error) {
	c, err := h.svc.GetCustomer(ctx, req.Msg.GetTenantId(), req.Msg.GetCustomerId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetCustomerResponse{Customer: customerPB(c)}), nil
}

func (h *adminHandler) UpdateCustomer(ctx context.Context, req *connect.Request[v1.UpdateCustomerRequest]) (*connect.Response[v1.UpdateCustomerResponse], error) {
	m := req.Msg
	u := service.CustomerUpdate{Name: m.Name, Email: m.Email}
	if m.GetSetMetadata() {
		md := licensor.Metadata(m.GetMetadata())
		u.Metadata = &md
	}
	c, err := h.svc.UpdateCustomer(ctx, m.GetTenantId(), m.GetCustomerId(), u)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateCustomerResponse{Customer: customerPB(c)}), nil
}

func (h *adminHandler) DeleteCustomer(ctx context.Context, req *connect.Request[v1.DeleteCustomerRequest]) (*connect.Response[v1.DeleteCustomerResponse], error) {
	if err := h.svc.DeleteCustomer(ctx, req.Msg.GetTenantId(), req.Msg.GetCustomerId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteCustomerResponse{}), nil
}

func (h *adminHandler) UpdateProduct(ctx context.Context, req *connect.Request[v1.UpdateProductRequest]) (*connect.Response[v1.UpdateProductResponse], error) {
	p, err := h.svc.UpdateProduct(ctx, req.Msg.GetTenantId(), req.Msg.GetProductId(), req.Msg.Name)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateProductResponse{Product: productPB(p)}), nil
}

func (h *adminHandler) DeleteProduct(ctx context.Context, req *connect.Request[v1.DeleteProductRequest]) (*connect.Response[v1.DeleteProductResponse], error) {
	if err := h.svc.DeleteProduct(ctx, req.Msg.GetTenantId(), req.Msg.GetProductId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteProductResponse{}), nil
}

func (h *adminHandler) UpdateFeature(ctx context.Context, req *connect.Request[v1.UpdateFeatureRequest]) (*connect.Response[v1.UpdateFeatureResponse], error) {
	f, err := h.svc.UpdateFeature(ctx, req.Msg.GetTenantId(), req.Msg.GetFeatureId(), req.Msg.Description)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateFeatureResponse{Feature: featurePB(f)}), nil
}

func (h *adminHandler) DeleteFeature(ctx context.Context, req *connect.Request[v1.DeleteFeatureRequest]) (*connect.Response[v1.DeleteFeatureResponse], error) {
	if err := h.svc.DeleteFeature(ctx, req.Msg.GetTenantId(), req.Msg.GetFeatureId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteFeatureResponse{}), nil
}
