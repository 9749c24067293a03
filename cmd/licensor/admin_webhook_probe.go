package main

import (
	"context"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

type WebhookTestCmd struct {
	tenantFlag
	ID string `arg:"" help:"Webhook id (whk_...)."`
}

func (c *WebhookTestCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.SendWebhookTestEvent(ctx, connect.NewRequest(&v1.SendWebhookTestEventRequest{TenantId: c.TenantID, WebhookId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, deliveryHeader, deliveryRows(res.Msg.Delivery))
	})
}
