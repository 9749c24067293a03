package main

import (
	"context"
	"fmt"
	"strconv"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

type InstanceSearchCmd struct {
	tenantFlag
	pageFlags
	Contract string `help:"Only this contract's instances."`
	Customer string `help:"Only this customer's instances."`
	Version  string `help:"Only instances whose latest telemetry reports this product version."`
	Since    Time   `help:"Only instances seen at or after this time."`
	Before   Time   `help:"Only instances last seen before this time."`
	Prefix   string `help:"Only instance ids that start with this."`
}

func (c *InstanceSearchCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.SearchInstances(ctx, connect.NewRequest(&v1.SearchInstancesRequest{TenantId: c.TenantID,
			ContractId: c.Contract, CustomerId: c.Customer, ProductVersion: c.Version, SeenSince: c.Since.pb(), SeenBefore: c.Before.pb(),
			InstanceIdPrefix: c.Prefix, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, instanceHeader, instanceRows(res.Msg.Instances...), res.Msg.NextPageToken)
	})
}

type DashboardCmd struct {
	tenantFlag
}

func (c *DashboardCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetDashboard(ctx, connect.NewRequest(&v1.GetDashboardRequest{TenantId: c.TenantID}))
		if err != nil {
			return err
		}
		d := res.Msg
		var checkins, files int64
		for _, h := range d.CheckinsPerHour {
			checkins += h.Count
		}
		for _, h := range d.LicenseFilesPerHour {
			files += h.Count
		}
		rows := [][]string{
			{"active instances", strconv.FormatInt(d.ActiveInstances, 10)},
			{"check-ins with telemetry, last 24h", strconv.FormatInt(checkins, 10)},
			{"license files issued, last 24h", strconv.FormatInt(files, 10)},
			{"contracts ending within 30 days", strconv.FormatInt(d.ContractsEnding_30D, 10)},
			{"open alerts", strconv.FormatInt(d.OpenAlerts, 10)},
		}
		for _, p := range d.Pools {
			rows = append(rows, []string{fmt.Sprintf("pool %s %s", orDash(p.PoolName), p.Feature), fmt.Sprintf("%d/%d in use", p.InUse, p.MaxUnits)})
		}
		return emit(g, d, []string{"WHAT", "NOW"}, rows)
	})
}
