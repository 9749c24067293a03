package main

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

type ProductUpdateCmd struct {
	tenantFlag
	ID   string  `arg:"" help:"Product id (prd_...)."`
	Name *string `help:"New name."`
}

func (c *ProductUpdateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.UpdateProduct(ctx, connect.NewRequest(&v1.UpdateProductRequest{TenantId: c.TenantID, ProductId: c.ID, Name: c.Name}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, productHeader, productRows(res.Msg.Product))
	})
}

type ProductDeleteCmd struct {
	tenantFlag
	ID string `arg:"" help:"Product id (prd_...); refused while a contract is for it. Its features go with it."`
}

func (c *ProductDeleteCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.DeleteProduct(ctx, connect.NewRequest(&v1.DeleteProductRequest{TenantId: c.TenantID, ProductId: c.ID}))
		if err != nil {
			return err
		}
		if g.Output == "json" {
			return emit(g, res.Msg, nil, nil)
		}
		_, err = fmt.Fprintf(stdout, "product %s deleted\n", c.ID)
		return err
	})
}

type FeatureUpdateCmd struct {
	tenantFlag
	ID          string  `arg:"" help:"Feature id (fea_...)."`
	Description *string `help:"New description (its name and kind are what contracts grant, and stay)."`
}

func (c *FeatureUpdateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.UpdateFeature(ctx, connect.NewRequest(&v1.UpdateFeatureRequest{TenantId: c.TenantID, FeatureId: c.ID, Description: c.Description}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, featureHeader, featureRows(res.Msg.Feature))
	})
}

type FeatureDeleteCmd struct {
	tenantFlag
	ID string `arg:"" help:"Feature id (fea_...); refused while a contract for its product grants it."`
}

func (c *FeatureDeleteCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.DeleteFeature(ctx, connect.NewRequest(&v1.DeleteFeatureRequest{TenantId: c.TenantID, FeatureId: c.ID}))
		if err != nil {
			return err
		}
		if g.Output == "json" {
			return emit(g, res.Msg, nil, nil)
		}
		_, err = fmt.Fprintf(stdout, "feature %s deleted\n", c.ID)
		return err
	})
}
