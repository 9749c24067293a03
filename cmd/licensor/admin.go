package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// AdminCmd groups the admin commands. Each talks to the AdminService.
type AdminCmd struct {
	Tenant    TenantCmd    `cmd:"" help:"Tenants (operator)."`
	Product   ProductCmd   `cmd:"" help:"Products."`
	Feature   FeatureCmd   `cmd:"" help:"Features of a product."`
	Customer  CustomerCmd  `cmd:"" help:"Customers."`
	Contract  ContractCmd  `cmd:"" help:"Contracts."`
	Token     TokenCmd     `cmd:"" help:"Tokens."`
	Key       KeyCmd       `cmd:"" help:"Signing keys."`
	Instance  InstanceCmd  `cmd:"" help:"Instances."`
	Telemetry TelemetryCmd `cmd:"" help:"Telemetry of instances: history, fleet summary, export, settings."`
	Pool      PoolCmd      `cmd:"" help:"Pools of floating features, their leases and usage."`
	Audit     AuditCmd     `cmd:"" help:"Audit log."`
	Webhook   WebhookCmd   `cmd:"" help:"Webhook endpoints for alert events, their deliveries and redelivery."`
	Alert     AlertCmd     `cmd:"" help:"Alerts raised by the expiry scanner."`
	Portal    PortalCmd    `cmd:"" name:"portal-link" help:"Links that let a customer's administrator into the portal."`
	Dashboard DashboardCmd `cmd:"" help:"What the console's first page shows: active instances, check-ins by hour, contracts ending, alerts, pools."`
}

// tenantFlag is embedded by every tenant-scoped command: the operator must
// name the tenant; a tenant admin may leave it out.
type tenantFlag struct {
	TenantID string `help:"Tenant to act on (required with the operator token)." name:"tenant" env:"LICENSOR_TENANT"`
}

// call runs fn with an admin client and a 30-second deadline, and turns its
// error into one clear line.
func call(g *Globals, fn func(ctx context.Context, c licensorv1connect.AdminServiceClient) error) error {
	c, err := g.adminClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cliError(fn(ctx, c))
}

type TenantCmd struct {
	Create TenantCreateCmd `cmd:"" help:"Create a tenant (with its first signing key)."`
	Get    TenantGetCmd    `cmd:"" help:"Show a tenant."`
	List   TenantListCmd   `cmd:"" help:"List tenants."`
	Update TenantUpdateCmd `cmd:"" help:"Change a tenant's settings."`
}

type TenantCreateCmd struct {
	Name             string `arg:"" help:"Tenant name."`
	ConcurrencyLimit int32  `help:"Requests in flight at once (default 60)."`
	ceilingFlags
	AdminToken bool `help:"Also create an admin token and print it (shown once)." default:"true" negatable:""`
}

// ceilingFlags are the operator's bounds on a tenant's own settings.
type ceilingFlags struct {
	ConcurrencyCeiling int32 `help:"Operator only: the most the tenant's admin may set its concurrency limit to (default 60, or the limit if higher; max 100000)."`
	QueueWaitCeiling   Dur   `help:"Operator only: the most the tenant's admin may set its queue wait to (default 1s, or the wait if longer; max 5s)."`
}

func tenantRows(ts ...*v1.Tenant) [][]string {
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.Id, t.Name,
			strconv.Itoa(int(t.ConcurrencyLimit)) + " of " + strconv.Itoa(int(t.ConcurrencyCeiling)),
			fmtDur(t.QueueWait) + " of " + fmtDur(t.QueueWaitCeiling),
			fmtDur(t.ExpiryWarning), fmtTS(t.CreatedAt)})
	}
	return rows
}

// CONCURRENCY and QUEUE WAIT show the tenant's setting "of" its ceiling.
var tenantHeader = []string{"ID", "NAME", "CONCURRENCY", "QUEUE WAIT", "EXPIRY WARNING", "CREATED"}

func (c *TenantCreateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateTenant(ctx, connect.NewRequest(&v1.CreateTenantRequest{
			Name: c.Name, ConcurrencyLimit: c.ConcurrencyLimit, CreateAdminToken: c.AdminToken,
			ConcurrencyCeiling: c.ConcurrencyCeiling, QueueWaitCeiling: c.QueueWaitCeiling.pb(),
		}))
		if err != nil {
			return err
		}
		if err := emit(g, res.Msg, tenantHeader, tenantRows(res.Msg.Tenant)); err != nil {
			return err
		}
		if res.Msg.AdminToken != "" && g.Output != "json" {
			fmt.Fprintf(stdout, "\nadmin token (shown once, store it now):\n%s\n", res.Msg.AdminToken)
		}
		return nil
	})
}

type TenantGetCmd struct {
	ID string `arg:"" optional:"" help:"Tenant id (default: the admin token's own)."`
}

func (c *TenantGetCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetTenant(ctx, connect.NewRequest(&v1.GetTenantRequest{TenantId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, tenantHeader, tenantRows(res.Msg.Tenant))
	})
}

type pageFlags struct {
	PageSize  int32  `help:"Items per page (max 1000)." default:"100"`
	PageToken string `help:"Continue after this page token."`
}

type TenantListCmd struct{ pageFlags }

func (c *TenantListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListTenants(ctx, connect.NewRequest(&v1.ListTenantsRequest{PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, tenantHeader, tenantRows(res.Msg.Tenants...), res.Msg.NextPageToken)
	})
}

func emitPage(g *Globals, msg proto.Message, header []string, rows [][]string, next string) error {
	if err := emit(g, msg, header, rows); err != nil {
		return err
	}
	if next != "" && g.Output != "json" {
		fmt.Fprintf(stdout, "\nmore: --page-token %s\n", next)
	}
	return nil
}

type TenantUpdateCmd struct {
	tenantFlag
	Name             string `help:"New name."`
	ConcurrencyLimit int32  `help:"Requests in flight at once (at most the tenant's concurrency ceiling)."`
	QueueWait        Dur    `help:"How long a request over the limit may wait for a slot (0 refuses at once; at most the tenant's queue wait ceiling)."`
	ExpiryWarning    Dur    `help:"Warn this long before a license or contract runs out (e.g. 7d)."`
	// Lowering a ceiling below the current limit (wait) lowers the limit
	// (wait) with it; the operator raising a limit (wait) past its ceiling
	// lifts the ceiling.
	ceilingFlags
}

func (c *TenantUpdateCmd) Run(g *Globals) error {
	req := &v1.UpdateTenantRequest{
		TenantId: c.TenantID, QueueWait: c.QueueWait.pb(), ExpiryWarning: c.ExpiryWarning.pb(),
		QueueWaitCeiling: c.QueueWaitCeiling.pb(),
	}
	if c.ConcurrencyCeiling != 0 {
		req.ConcurrencyCeiling = &c.ConcurrencyCeiling
	}
	if c.Name != "" {
		req.Name = &c.Name
	}
	if c.ConcurrencyLimit != 0 {
		req.ConcurrencyLimit = &c.ConcurrencyLimit
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.UpdateTenant(ctx, connect.NewRequest(req))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, tenantHeader, tenantRows(res.Msg.Tenant))
	})
}

type ProductCmd struct {
	Create ProductCreateCmd `cmd:"" help:"Create a product."`
	List   ProductListCmd   `cmd:"" help:"List products."`
	Update ProductUpdateCmd `cmd:"" help:"Rename a product."`
	Delete ProductDeleteCmd `cmd:"" help:"Delete a product no contract is for."`
}

type ProductCreateCmd struct {
	tenantFlag
	Name string `arg:"" help:"Product name."`
}

var productHeader = []string{"ID", "NAME", "CREATED"}

func productRows(ps ...*v1.Product) (rows [][]string) {
	for _, p := range ps {
		rows = append(rows, []string{p.Id, p.Name, fmtTS(p.CreatedAt)})
	}
	return rows
}

func (c *ProductCreateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{TenantId: c.TenantID, Name: c.Name}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, productHeader, productRows(res.Msg.Product))
	})
}

type ProductListCmd struct {
	tenantFlag
	pageFlags
}

func (c *ProductListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListProducts(ctx, connect.NewRequest(&v1.ListProductsRequest{TenantId: c.TenantID, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, productHeader, productRows(res.Msg.Products...), res.Msg.NextPageToken)
	})
}

type FeatureCmd struct {
	Create FeatureCreateCmd `cmd:"" help:"Define a feature of a product."`
	List   FeatureListCmd   `cmd:"" help:"List a product's features."`
	Update FeatureUpdateCmd `cmd:"" help:"Change a feature's description."`
	Delete FeatureDeleteCmd `cmd:"" help:"Delete a feature no contract grants."`
}

type FeatureCreateCmd struct {
	tenantFlag
	Product     string `required:"" help:"Product id."`
	Name        string `arg:"" help:"Feature name (lower-case letters, digits, _ - .)."`
	Kind        string `help:"boolean or counted." default:"boolean" enum:"boolean,counted"`
	Description string `help:"What the feature is."`
}

var featureHeader = []string{"ID", "NAME", "KIND", "DESCRIPTION"}

func featureRows(fs ...*v1.Feature) (rows [][]string) {
	for _, f := range fs {
		rows = append(rows, []string{f.Id, f.Name, f.Kind, orDash(f.Description)})
	}
	return rows
}

func (c *FeatureCreateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateFeature(ctx, connect.NewRequest(&v1.CreateFeatureRequest{TenantId: c.TenantID, ProductId: c.Product, Name: c.Name, Kind: c.Kind, Description: c.Description}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, featureHeader, featureRows(res.Msg.Feature))
	})
}

type FeatureListCmd struct {
	tenantFlag
	Product string `required:"" help:"Product id."`
}

func (c *FeatureListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListProductFeatures(ctx, connect.NewRequest(&v1.ListProductFeaturesRequest{TenantId: c.TenantID, ProductId: c.Product}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, featureHeader, featureRows(res.Msg.Features...))
	})
}

type CustomerCmd struct {
	Create CustomerCreateCmd `cmd:"" help:"Create a customer."`
	List   CustomerListCmd   `cmd:"" help:"List customers."`
	Get    CustomerGetCmd    `cmd:"" help:"Show a customer with its metadata."`
	Update CustomerUpdateCmd `cmd:"" help:"Change a customer's name, e-mail or metadata."`
	Delete CustomerDeleteCmd `cmd:"" help:"Delete a customer with no contract and no pool."`
}

type CustomerCreateCmd struct {
	tenantFlag
	Name  string `arg:"" help:"Customer name."`
	Email string `help:"Contact e-mail."`
	metadataFlags
}

var customerHeader = []string{"ID", "NAME", "EMAIL", "CREATED"}

func customerRows(cs ...*v1.Customer) (rows [][]string) {
	for _, c := range cs {
		rows = append(rows, []string{c.Id, c.Name, orDash(c.Email), fmtTS(c.CreatedAt)})
	}
	return rows
}

func (c *CustomerCreateCmd) Run(g *Globals) error {
	md, _, err := c.parse()
	if err != nil {
		return err
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateCustomer(ctx, connect.NewRequest(&v1.CreateCustomerRequest{TenantId: c.TenantID, Name: c.Name, Email: c.Email, Metadata: md}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, customerHeader, customerRows(res.Msg.Customer))
	})
}

type CustomerListCmd struct {
	tenantFlag
	pageFlags
}

func (c *CustomerListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListCustomers(ctx, connect.NewRequest(&v1.ListCustomersRequest{TenantId: c.TenantID, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, customerHeader, customerRows(res.Msg.Customers...), res.Msg.NextPageToken)
	})
}

// parseFeatures reads --feature flags: "solver=50" (counted) or "reporting" (boolean).
func parseFeatures(fs []string) ([]*v1.Entitlement, error) {
	var out []*v1.Entitlement
	for _, f := range fs {
		name, count, ok := strings.Cut(f, "=")
		e := &v1.Entitlement{Feature: name}
		if ok {
			n, err := strconv.ParseInt(count, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("--feature %q: the count after = must be a whole number", f)
			}
			e.Count = n
		}
		out = append(out, e)
	}
	return out, nil
}
