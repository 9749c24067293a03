package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// TokenCmd manages a tenant's tokens and, for the operator with no
// --tenant, the operator tokens.
type TokenCmd struct {
	Create TokenCreateCmd `cmd:"" help:"Create an admin, contract or operator token (the secret is shown once)."`
	List   TokenListCmd   `cmd:"" help:"List tokens; with the operator token and no --tenant, the operator tokens."`
	Revoke TokenRevokeCmd `cmd:"" help:"Revoke a token at once; with the operator token and no --tenant, an operator token (never the last live one)."`
}

// ownTenantFlag is tenantFlag for the commands that also reach what the
// operator owns outside any tenant (operator tokens, its audit log): with
// the operator token and no tenant, they act on that.
type ownTenantFlag struct {
	TenantID string `help:"Tenant to act on; with the operator token, leave it out for the operator's own (operator tokens, its audit log)." name:"tenant" env:"LICENSOR_TENANT"`
}

var tokenHeader = []string{"ID", "ROLE", "CONTRACT", "NAME", "HINT", "CREATED", "EXPIRES", "REVOKED"}

func tokenRows(ts ...*v1.Token) (rows [][]string) {
	for _, t := range ts {
		rows = append(rows, []string{t.Id, t.Role, orDash(t.ContractId), orDash(t.Name), t.Hint, fmtTS(t.CreatedAt), fmtTS(t.ExpiresAt), fmtTS(t.RevokedAt)})
	}
	return rows
}

type TokenCreateCmd struct {
	ownTenantFlag
	Role     string `help:"admin, contract, or operator (with the operator token and no --tenant)." default:"contract" enum:"admin,contract,operator"`
	Contract string `help:"Contract id (for a contract token)."`
	Name     string `help:"What the token is for."`
	Expires  Time   `help:"Expiry (default: never)."`
}

func (c *TokenCreateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{TenantId: c.TenantID, Role: c.Role, ContractId: c.Contract, Name: c.Name, ExpiresAt: c.Expires.pb()}))
		if err != nil {
			return err
		}
		if err := emit(g, res.Msg, tokenHeader, tokenRows(res.Msg.Token)); err != nil {
			return err
		}
		if g.Output != "json" {
			fmt.Fprintf(stdout, "\nsecret (shown once, store it now):\n%s\n", res.Msg.Secret)
		}
		return nil
	})
}

type TokenListCmd struct {
	ownTenantFlag
	pageFlags
	Contract string `help:"Only this contract's tokens."`
	Revoked  bool   `help:"Include revoked tokens."`
}

func (c *TokenListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{TenantId: c.TenantID, ContractId: c.Contract, IncludeRevoked: c.Revoked, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, tokenHeader, tokenRows(res.Msg.Tokens...), res.Msg.NextPageToken)
	})
}

type TokenRevokeCmd struct {
	ownTenantFlag
	ID string `arg:"" help:"Token id (tok_...)."`
}

func (c *TokenRevokeCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TenantId: c.TenantID, TokenId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, tokenHeader, tokenRows(res.Msg.Token))
	})
}

type KeyCmd struct {
	Rotate KeyRotateCmd `cmd:"" help:"Make a new signing key, published now and signing after --activate-after; the old one signs until then and stays in the JWKS until its licenses expire."`
	List   KeyListCmd   `cmd:"" help:"List signing keys."`
}

var keyHeader = []string{"ID", "ACTIVE", "CREATED", "SIGNS FROM", "RETIRED", "PUBLISHED UNTIL"}

func keyRows(ks ...*v1.SigningKey) (rows [][]string) {
	for _, k := range ks {
		rows = append(rows, []string{k.Id, fmt.Sprint(k.Active), fmtTS(k.CreatedAt), fmtTS(k.ActivateAt), fmtTS(k.RetiredAt), fmtTS(k.PublishUntil)})
	}
	return rows
}

type KeyRotateCmd struct {
	tenantFlag
	ActivateAfter Dur  `name:"activate-after" default:"14d" help:"How long the new key is published in the JWKS before it signs (e.g. 14d, 36h, 0). Products that pin the keys must ship it in that time."`
	Force         bool `help:"Rotate even though --activate-after is shorter than a license lifetime: products that pin the keys, or cached the JWKS, refuse licenses signed by a key they have not seen."`
}

func (c *KeyRotateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{TenantId: c.TenantID,
			ActivateAfter: durationpb.New(time.Duration(c.ActivateAfter)), Force: c.Force}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, keyHeader, keyRows(res.Msg.Key))
	})
}

type KeyListCmd struct{ tenantFlag }

func (c *KeyListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListSigningKeys(ctx, connect.NewRequest(&v1.ListSigningKeysRequest{TenantId: c.TenantID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, keyHeader, keyRows(res.Msg.Keys...))
	})
}

type InstanceCmd struct {
	List        InstanceListCmd    `cmd:"" help:"List instances."`
	Get         InstanceGetCmd     `cmd:"" help:"Show an instance."`
	ReleaseSeat InstanceReleaseCmd `cmd:"" name:"release-seat" help:"Free the seat or non-production slot an instance holds."`
	Search      InstanceSearchCmd  `cmd:"" help:"Find instances, newest check-in first: by contract, customer, version, last check-in, id prefix."`
}

var instanceHeader = []string{"CONTRACT", "INSTANCE", "SEAT", "ENV", "HOST", "LAST SEEN", "LICENSE EXPIRES", "CLONE?"}

func instanceRows(is ...*v1.Instance) (rows [][]string) {
	for _, i := range is {
		clone := "-"
		if i.CloneSuspectedAt != nil {
			clone = "suspected " + fmtTS(i.CloneSuspectedAt)
		}
		seat := fmt.Sprint(i.Seat)
		if i.NonProductionSlot {
			seat = "non-production slot"
		}
		rows = append(rows, []string{i.ContractId, i.InstanceId, seat, orDash(i.Environment), orDash(i.Host), fmtTS(i.LastSeenAt), fmtTS(i.LicenseExpiresAt), clone})
	}
	return rows
}

type InstanceListCmd struct {
	tenantFlag
	pageFlags
	Contract string `help:"Only this contract's instances."`
}

func (c *InstanceListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{TenantId: c.TenantID, ContractId: c.Contract, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, instanceHeader, instanceRows(res.Msg.Instances...), res.Msg.NextPageToken)
	})
}

type InstanceGetCmd struct {
	tenantFlag
	Contract string `arg:"" help:"Contract id."`
	Instance string `arg:"" help:"Instance id."`
}

func (c *InstanceGetCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetInstance(ctx, connect.NewRequest(&v1.GetInstanceRequest{TenantId: c.TenantID, ContractId: c.Contract, InstanceId: c.Instance}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, instanceHeader, instanceRows(res.Msg.Instance))
	})
}

type InstanceReleaseCmd struct {
	tenantFlag
	Contract string `arg:"" help:"Contract id."`
	Instance string `arg:"" help:"Instance id."`
}

func (c *InstanceReleaseCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{TenantId: c.TenantID, ContractId: c.Contract, InstanceId: c.Instance}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, instanceHeader, instanceRows(res.Msg.Instance))
	})
}

type AuditCmd struct {
	List AuditListCmd `cmd:"" help:"Query the audit log, newest first; with the operator token and no --tenant, the operator's own log."`
}

type AuditListCmd struct {
	ownTenantFlag
	pageFlags
	Actor  string `help:"Only actions by this token id."`
	Object string `help:"Only this object: TYPE or TYPE/ID (e.g. contract/con_...)."`
	Since  Time   `help:"From this time."`
	Until  Time   `help:"Up to this time."`
}

func (c *AuditListCmd) Run(g *Globals) error {
	req := &v1.ListAuditEntriesRequest{TenantId: c.TenantID, TokenId: c.Actor, Since: c.Since.pb(), Until: c.Until.pb(), PageSize: c.PageSize, PageToken: c.PageToken}
	if c.Object != "" {
		req.ObjectType, req.ObjectId, _ = strings.Cut(c.Object, "/")
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListAuditEntries(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		var rows [][]string
		for _, e := range res.Msg.Entries {
			rows = append(rows, []string{fmtTS(e.At), e.Action, e.ObjectType + "/" + e.ObjectId, e.ActorRole, orDash(e.TokenId)})
		}
		return emitPage(g, res.Msg, []string{"AT", "ACTION", "OBJECT", "ROLE", "TOKEN"}, rows, res.Msg.NextPageToken)
	})
}
