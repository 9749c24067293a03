package main

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// PortalCmd manages the links that let a customer's administrator into
// the portal.
type PortalCmd struct {
	Create PortalLinkCreateCmd `cmd:"" help:"Make a portal link for a customer (the secret is shown once)."`
	List   PortalLinkListCmd   `cmd:"" help:"List portal links (live ones unless --all)."`
	Revoke PortalLinkRevokeCmd `cmd:"" help:"Revoke a portal link at once."`
}

var portalLinkHeader = []string{"ID", "CUSTOMER", "NAME", "HINT", "EXPIRES", "REVOKED"}

func portalLinkRows(ls ...*v1.PortalLink) (rows [][]string) {
	for _, l := range ls {
		revoked := "-"
		if l.RevokedAt != nil {
			revoked = fmtTS(l.RevokedAt)
		}
		rows = append(rows, []string{l.Id, l.CustomerId, orDash(l.Name), l.Hint, fmtTS(l.ExpiresAt), revoked})
	}
	return rows
}

type PortalLinkCreateCmd struct {
	tenantFlag
	Customer string `required:"" help:"Customer id (cus_...)."`
	Name     string `help:"Who the link is for, e.g. an e-mail address."`
	TTL      Dur    `help:"How long it lets its bearer in (default 7d, at most 90d)." name:"ttl"`
}

func (c *PortalLinkCreateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreatePortalLink(ctx, connect.NewRequest(&v1.CreatePortalLinkRequest{TenantId: c.TenantID, CustomerId: c.Customer, Name: c.Name, Ttl: c.TTL.pb()}))
		if err != nil {
			return err
		}
		if err := emit(g, res.Msg, portalLinkHeader, portalLinkRows(res.Msg.Link)); err != nil {
			return err
		}
		if g.Output != "json" {
			fmt.Fprintf(stdout, "\nsecret (shown once, hand it to the customer now):\n%s\n", res.Msg.Secret)
		}
		return nil
	})
}

type PortalLinkListCmd struct {
	tenantFlag
	pageFlags
	Customer string `help:"Only this customer's links."`
	All      bool   `help:"Revoked and expired links too."`
}

func (c *PortalLinkListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListPortalLinks(ctx, connect.NewRequest(&v1.ListPortalLinksRequest{TenantId: c.TenantID, CustomerId: c.Customer,
			IncludeRevoked: c.All, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, portalLinkHeader, nameCustomers(ctx, g, cl, c.TenantID, 1, portalLinkRows(res.Msg.Links...)), res.Msg.NextPageToken)
	})
}

type PortalLinkRevokeCmd struct {
	tenantFlag
	ID string `arg:"" help:"Portal link id (plk_...)."`
}

func (c *PortalLinkRevokeCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.RevokePortalLink(ctx, connect.NewRequest(&v1.RevokePortalLinkRequest{TenantId: c.TenantID, PortalLinkId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, portalLinkHeader, portalLinkRows(res.Msg.Link))
	})
}
