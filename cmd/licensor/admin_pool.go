package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// PoolCmd manages pools of floating (counted) features and their leases.
type PoolCmd struct {
	Create       PoolCreateCmd       `cmd:"" help:"Create a pool of counted features for a customer (or one contract)."`
	Show         PoolShowCmd         `cmd:"" help:"Show a pool: its features, what is in use, and every lease (by whom, until when)."`
	List         PoolListCmd         `cmd:"" help:"List pools."`
	Resize       PoolResizeCmd       `cmd:"" help:"Change a pool's maximums (or add features) and its lease TTL."`
	Leases       PoolLeasesCmd       `cmd:"" help:"List leases."`
	ReleaseLease PoolReleaseLeaseCmd `cmd:"" name:"release-lease" help:"End a lease at once (a stuck seat)."`
	Usage        PoolUsageCmd        `cmd:"" help:"Usage report per feature and period: peak, unit-hours, grants, denials, returns, expiries."`
}

var poolHeader = []string{"ID", "CUSTOMER", "CONTRACT", "NAME", "FEATURES (IN USE/MAX)", "LEASE TTL", "CREATED"}

func poolRows(ps ...*v1.Pool) (rows [][]string) {
	for _, p := range ps {
		var fs []string
		for _, f := range p.Features {
			fs = append(fs, fmt.Sprintf("%s=%d/%d", f.Feature, f.InUse, f.MaxUnits))
		}
		rows = append(rows, []string{p.Id, p.CustomerId, orDash(p.ContractId), orDash(p.Name), orDash(strings.Join(fs, ",")), fmtDur(p.LeaseTtl), fmtTS(p.CreatedAt)})
	}
	return rows
}

var leaseHeader = []string{"ID", "POOL", "CONTRACT", "INSTANCE", "UNITS", "BORROWED", "CREATED", "EXPIRES"}

func leaseRows(ls ...*v1.Lease) (rows [][]string) {
	for _, l := range ls {
		var us []string
		for _, u := range l.Units {
			us = append(us, fmt.Sprintf("%s=%d", u.Feature, u.Units))
		}
		rows = append(rows, []string{l.Id, l.PoolId, l.ContractId, l.InstanceId, strings.Join(us, ","), fmt.Sprint(l.Borrowed), fmtTS(l.CreatedAt), fmtTS(l.ExpiresAt)})
	}
	return rows
}

// parsePoolFeatures reads --feature flags of the form name=max.
func parsePoolFeatures(fs []string) ([]*v1.PoolFeatureLimit, error) {
	var out []*v1.PoolFeatureLimit
	for _, f := range fs {
		name, n, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--feature %q: give the pool's maximum, e.g. %s=50", f, f)
		}
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--feature %q: the maximum after = must be a whole number", f)
		}
		out = append(out, &v1.PoolFeatureLimit{Feature: name, MaxUnits: v})
	}
	return out, nil
}

type PoolCreateCmd struct {
	tenantFlag
	Customer string   `required:"" help:"Customer id."`
	Contract string   `help:"Only this contract's instances draw from the pool (default: every contract of the customer)."`
	Name     string   `help:"Pool name."`
	Feature  []string `help:"Counted feature and its maximum: name=max. Repeatable." short:"f" required:""`
	LeaseTTL Dur      `help:"How long a lease lives without a renewal (default 15m)." name:"lease-ttl"`
}

func (c *PoolCreateCmd) Run(g *Globals) error {
	fs, err := parsePoolFeatures(c.Feature)
	if err != nil {
		return err
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{
			TenantId: c.TenantID, CustomerId: c.Customer, ContractId: c.Contract, Name: c.Name, Features: fs, LeaseTtl: c.LeaseTTL.pb(),
		}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, poolHeader, poolRows(res.Msg.Pool))
	})
}

type PoolShowCmd struct {
	tenantFlag
	ID string `arg:"" help:"Pool id (pool_...)."`
}

func (c *PoolShowCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetPool(ctx, connect.NewRequest(&v1.GetPoolRequest{TenantId: c.TenantID, PoolId: c.ID}))
		if err != nil {
			return err
		}
		if g.Output == "json" {
			return emit(g, res.Msg, nil, nil)
		}
		if err := emit(g, res.Msg, poolHeader, poolRows(res.Msg.Pool)); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		return emit(g, res.Msg, leaseHeader, leaseRows(res.Msg.Leases...))
	})
}

type PoolListCmd struct {
	tenantFlag
	pageFlags
	Customer string `help:"Only this customer's pools."`
}

func (c *PoolListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListPools(ctx, connect.NewRequest(&v1.ListPoolsRequest{TenantId: c.TenantID, CustomerId: c.Customer, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, poolHeader, poolRows(res.Msg.Pools...), res.Msg.NextPageToken)
	})
}

type PoolResizeCmd struct {
	tenantFlag
	ID       string   `arg:"" help:"Pool id."`
	Feature  []string `help:"New maximum of a feature (added if new): name=max. Repeatable." short:"f"`
	LeaseTTL Dur      `help:"New lease TTL." name:"lease-ttl"`
}

func (c *PoolResizeCmd) Run(g *Globals) error {
	fs, err := parsePoolFeatures(c.Feature)
	if err != nil {
		return err
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{TenantId: c.TenantID, PoolId: c.ID, Features: fs, LeaseTtl: c.LeaseTTL.pb()}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, poolHeader, poolRows(res.Msg.Pool))
	})
}

type PoolLeasesCmd struct {
	tenantFlag
	pageFlags
	Pool     string `help:"Only this pool's leases."`
	Contract string `help:"Only this contract's leases."`
	Instance string `help:"Only this instance's leases (with --contract)."`
}

func (c *PoolLeasesCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListLeases(ctx, connect.NewRequest(&v1.ListLeasesRequest{
			TenantId: c.TenantID, PoolId: c.Pool, ContractId: c.Contract, InstanceId: c.Instance, PageSize: c.PageSize, PageToken: c.PageToken,
		}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, leaseHeader, leaseRows(res.Msg.Leases...), res.Msg.NextPageToken)
	})
}

type PoolReleaseLeaseCmd struct {
	tenantFlag
	ID string `arg:"" help:"Lease id (lea_...)."`
}

func (c *PoolReleaseLeaseCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		if _, err := cl.ReleaseLease(ctx, connect.NewRequest(&v1.ReleaseLeaseRequest{TenantId: c.TenantID, LeaseId: c.ID})); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lease %s released\n", c.ID)
		return nil
	})
}

type PoolUsageCmd struct {
	tenantFlag
	ID     string `arg:"" help:"Pool id."`
	Since  Time   `help:"Start (default: a day before --until)."`
	Until  Time   `help:"End (default: now)."`
	Period Dur    `help:"Period length (default 1h)."`
}

var usageHeader = []string{"FEATURE", "PERIOD", "PEAK", "UNIT-HOURS", "GRANTS", "DENIALS", "RETURNS", "EXPIRIES"}

func (c *PoolUsageCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetUsageReport(ctx, connect.NewRequest(&v1.GetUsageReportRequest{
			TenantId: c.TenantID, PoolId: c.ID, Since: c.Since.pb(), Until: c.Until.pb(), Period: c.Period.pb(),
		}))
		if err != nil {
			return err
		}
		var rows [][]string
		for _, r := range res.Msg.Rows {
			rows = append(rows, []string{r.Feature, fmtTS(r.PeriodStart), strconv.FormatInt(r.PeakUnits, 10), strconv.FormatFloat(r.UnitHours, 'f', 2, 64),
				strconv.FormatInt(r.Grants, 10), strconv.FormatInt(r.Denials, 10), strconv.FormatInt(r.Returns, 10), strconv.FormatInt(r.Expiries, 10)})
		}
		return emit(g, res.Msg, usageHeader, rows)
	})
}
