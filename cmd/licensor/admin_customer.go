package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// metadataFlags set a customer's or a contract's metadata: --metadata
// key=value, repeated. On an update, any --metadata (or --clear-metadata)
// replaces all of it.
type metadataFlags struct {
	Metadata      []string `help:"Metadata entry key=value (repeatable); on update, replaces all the metadata." placeholder:"KEY=VALUE"`
	ClearMetadata bool     `help:"On update: remove all the metadata."`
}

// parse returns the metadata given and whether any was (set).
func (m metadataFlags) parse() (md map[string]string, set bool, err error) {
	if m.ClearMetadata && len(m.Metadata) > 0 {
		return nil, false, fmt.Errorf("give --metadata or --clear-metadata, not both")
	}
	md = map[string]string{}
	for _, kv := range m.Metadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, false, fmt.Errorf("--metadata %q: write it key=value", kv)
		}
		if _, dup := md[k]; dup {
			return nil, false, fmt.Errorf("--metadata %q: key %q given twice", kv, k)
		}
		md[k] = v
	}
	return md, m.ClearMetadata || len(m.Metadata) > 0, nil
}

// fmtMetadata shows metadata in one table cell: key=value pairs by key.
func fmtMetadata(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + md[k]
	}
	return strings.Join(keys, ",")
}

type CustomerGetCmd struct {
	tenantFlag
	ID string `arg:"" help:"Customer id (cus_...)."`
}

func (c *CustomerGetCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.GetCustomer(ctx, connect.NewRequest(&v1.GetCustomerRequest{TenantId: c.TenantID, CustomerId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, customerDetailHeader, customerDetailRows(res.Msg.Customer))
	})
}

// customerDetailHeader is customerHeader with the metadata, for the calls
// about one customer.
var customerDetailHeader = append(append([]string(nil), customerHeader...), "METADATA")

func customerDetailRows(cs ...*v1.Customer) [][]string {
	rows := customerRows(cs...)
	for i, c := range cs {
		rows[i] = append(rows[i], fmtMetadata(c.Metadata))
	}
	return rows
}

type CustomerUpdateCmd struct {
	tenantFlag
	ID    string  `arg:"" help:"Customer id (cus_...)."`
	Name  *string `help:"New name."`
	Email *string `help:"New contact e-mail (empty removes it)."`
	metadataFlags
}

func (c *CustomerUpdateCmd) Run(g *Globals) error {
	md, set, err := c.parse()
	if err != nil {
		return err
	}
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.UpdateCustomer(ctx, connect.NewRequest(&v1.UpdateCustomerRequest{TenantId: c.TenantID, CustomerId: c.ID,
			Name: c.Name, Email: c.Email, Metadata: md, SetMetadata: set}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, customerDetailHeader, customerDetailRows(res.Msg.Customer))
	})
}

type CustomerDeleteCmd struct {
	tenantFlag
	ID string `arg:"" help:"Customer id (cus_...); refused while a contract or a pool is the customer's."`
}

func (c *CustomerDeleteCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.DeleteCustomer(ctx, connect.NewRequest(&v1.DeleteCustomerRequest{TenantId: c.TenantID, CustomerId: c.ID}))
		if err != nil {
			return err
		}
		if g.Output == "json" {
			return emit(g, res.Msg, nil, nil)
		}
		_, err = fmt.Fprintf(stdout, "customer %s deleted\n", c.ID)
		return err
	})
}
