package main

import (
	"context"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// Tables show a customer's or a product's name beside its id. The names
// are resolved once per command through the list calls, page by page
// until every id wanted is found, never one call per row. An id not found
// (deleted since) shows alone.

// maxNamePages bounds the list calls one command makes to resolve names:
// past it, the ids not yet found show without a name.
const maxNamePages = 20

func wanted(ids []string) map[string]string {
	m := make(map[string]string, len(ids))
	for _, id := range ids {
		if id != "" {
			m[id] = ""
		}
	}
	return m
}

func missing(m map[string]string) bool {
	for _, n := range m {
		if n == "" {
			return true
		}
	}
	return false
}

// customerNames returns the names of the customers ids, by id.
func customerNames(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenantID string, ids []string) (map[string]string, error) {
	names := wanted(ids)
	token := ""
	for page := 0; page < maxNamePages && missing(names); page++ {
		res, err := cl.ListCustomers(ctx, connect.NewRequest(&v1.ListCustomersRequest{TenantId: tenantID, PageSize: 1000, PageToken: token}))
		if err != nil {
			return nil, err
		}
		for _, c := range res.Msg.Customers {
			if _, ok := names[c.Id]; ok {
				names[c.Id] = c.Name
			}
		}
		if token = res.Msg.NextPageToken; token == "" {
			break
		}
	}
	return names, nil
}

// productNames returns the names of the products ids, by id.
func productNames(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenantID string, ids []string) (map[string]string, error) {
	names := wanted(ids)
	token := ""
	for page := 0; page < maxNamePages && missing(names); page++ {
		res, err := cl.ListProducts(ctx, connect.NewRequest(&v1.ListProductsRequest{TenantId: tenantID, PageSize: 1000, PageToken: token}))
		if err != nil {
			return nil, err
		}
		for _, p := range res.Msg.Products {
			if _, ok := names[p.Id]; ok {
				names[p.Id] = p.Name
			}
		}
		if token = res.Msg.NextPageToken; token == "" {
			break
		}
	}
	return names, nil
}

// named shows an id with its name: "Acme (cus_…)", or the id alone.
func named(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n + " (" + id + ")"
	}
	return orDash(id)
}

// contractListHeader is contractHeader with the product beside the
// customer, both by name.
var contractListHeader = append([]string{"ID", "CUSTOMER", "PRODUCT"}, contractHeader[2:]...)

// contractListRows are contractRows with names beside the ids.
func contractListRows(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenantID string, cs []*v1.Contract) ([][]string, error) {
	var customers, products []string
	for _, c := range cs {
		customers, products = append(customers, c.CustomerId), append(products, c.ProductId)
	}
	cn, err := customerNames(ctx, cl, tenantID, customers)
	if err != nil {
		return nil, err
	}
	pn, err := productNames(ctx, cl, tenantID, products)
	if err != nil {
		return nil, err
	}
	rows := contractRows(cs...)
	for i, c := range cs {
		rows[i] = append([]string{rows[i][0], named(cn, c.CustomerId), named(pn, c.ProductId)}, rows[i][2:]...)
	}
	return rows, nil
}

// poolListRows are poolRows with the customer's name beside its id.
func poolListRows(ctx context.Context, cl licensorv1connect.AdminServiceClient, tenantID string, ps []*v1.Pool) ([][]string, error) {
	var customers []string
	for _, p := range ps {
		customers = append(customers, p.CustomerId)
	}
	cn, err := customerNames(ctx, cl, tenantID, customers)
	if err != nil {
		return nil, err
	}
	rows := poolRows(ps...)
	for i, p := range ps {
		rows[i][1] = named(cn, p.CustomerId)
	}
	return rows, nil
}
