package main

import (
	"context"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// maxNamePages bounds the customer listing behind a table's names: past
// 10000 customers a table shows ids alone rather than page for long.
const maxNamePages = 10

// nameCustomers writes "name (id)" in column col of a table's rows, from
// one listing of the tenant's customers, not a call per row. It does
// nothing unless the output is a table (json, yaml and id keep the bare
// ids), and leaves an id it cannot name as it is: the names help a person
// read, they are never worth failing the command for.
func nameCustomers(ctx context.Context, g *Globals, cl licensorv1connect.AdminServiceClient, tenant string, col int, rows [][]string) [][]string {
	return nameColumn(g, col, rows, func(names map[string]string) error {
		token := ""
		for range maxNamePages {
			res, err := cl.ListCustomers(ctx, connect.NewRequest(&v1.ListCustomersRequest{TenantId: tenant, PageSize: 1000, PageToken: token}))
			if err != nil {
				return err
			}
			for _, c := range res.Msg.Customers {
				names[c.Id] = c.Name
			}
			if token = res.Msg.NextPageToken; token == "" {
				return nil
			}
		}
		return nil
	})
}

// nameProducts puts each product's name beside its id in column col.
func nameProducts(ctx context.Context, g *Globals, cl licensorv1connect.AdminServiceClient, tenant string, col int, rows [][]string) [][]string {
	return nameColumn(g, col, rows, func(names map[string]string) error {
		token := ""
		for range maxNamePages {
			res, err := cl.ListProducts(ctx, connect.NewRequest(&v1.ListProductsRequest{TenantId: tenant, PageSize: 1000, PageToken: token}))
			if err != nil {
				return err
			}
			for _, p := range res.Msg.Products {
				names[p.Id] = p.Name
			}
			if token = res.Msg.NextPageToken; token == "" {
				return nil
			}
		}
		return nil
	})
}

// nameContractRows names the customer and product columns of contract rows.
func nameContractRows(ctx context.Context, g *Globals, cl licensorv1connect.AdminServiceClient, tenant string, rows [][]string) [][]string {
	return nameProducts(ctx, g, cl, tenant, 3, nameCustomers(ctx, g, cl, tenant, 2, rows))
}

// nameContracts is nameCustomers for contract ids.
func nameContracts(ctx context.Context, g *Globals, cl licensorv1connect.AdminServiceClient, tenant string, col int, rows [][]string) [][]string {
	return nameColumn(g, col, rows, func(names map[string]string) error {
		token := ""
		for range maxNamePages {
			res, err := cl.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{TenantId: tenant, PageSize: 1000, PageToken: token}))
			if err != nil {
				return err
			}
			for _, c := range res.Msg.Contracts {
				names[c.Id] = c.Name
			}
			if token = res.Msg.NextPageToken; token == "" {
				return nil
			}
		}
		return nil
	})
}

func nameColumn(g *Globals, col int, rows [][]string, list func(map[string]string) error) [][]string {
	if !g.table() || len(rows) == 0 {
		return rows
	}
	names := map[string]string{}
	if err := list(names); err != nil {
		return rows
	}
	for _, r := range rows {
		if n, ok := names[r[col]]; ok && n != "" {
			r[col] = n + " (" + r[col] + ")"
		}
	}
	return rows
}
