package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/atomicfile"
)

// DemoFile is <data>/demo.json: everything a newcomer needs to fetch a
// license from a fresh server.
type DemoFile struct {
	Server     string `json:"server"`
	CACert     string `json:"ca_cert"`
	TenantID   string `json:"tenant_id"`
	ProductID  string `json:"product_id"`
	CustomerID string `json:"customer_id"`
	ContractID string `json:"contract_id"`
	PoolID     string `json:"pool_id,omitempty"`
	Token      string `json:"token"`
	AdminToken string `json:"admin_token"`
}

// setupDemo creates the demo objects once; a restart with --demo reuses
// them (and updates the server address).
// addr is the API's address, listened on but not yet served.
func (m *Main) setupDemo(ctx context.Context, certFile, addr string) (*DemoFile, error) {
	path := filepath.Join(m.Config.Data, "demo.json")
	d, err := readDemoFile(path)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		if d, err = m.createDemo(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	d.Server = "https://" + addr
	if abs, err := filepath.Abs(certFile); err == nil {
		d.CACert = abs
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(m.Out, "demo written to %s\nfetch a license:\n  grpcurl -cacert %s -H 'Authorization: Bearer %s' -d '{\"contract_id\":\"%s\",\"instance_id\":\"demo-1\"}' %s licensor.v1.LicenseService/GetLicense\n",
		path, d.CACert, d.Token, d.ContractID, addr)
	fmt.Fprintf(m.Out, "console: https://%s/console/ (sign in with the demo's admin_token from %s)\n", addr, path)
	return d, nil
}

func readDemoFile(path string) (*DemoFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d DemoFile
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

func (m *Main) createDemo(ctx context.Context) (*DemoFile, error) {
	svc := m.App.Service()
	op := licensor.WithActor(ctx, licensor.Actor{Role: licensor.RoleOperator, TokenID: "demo-setup"})
	t, adminToken, err := svc.CreateTenant(op, licensor.Tenant{Name: "Demo Vendor"}, true)
	if err != nil {
		return nil, err
	}
	p, err := svc.CreateProduct(op, t.ID, licensor.Product{Name: "Demo Suite"})
	if err != nil {
		return nil, err
	}
	for _, f := range []licensor.Feature{
		{Name: "solver", Kind: licensor.FeatureCounted, Description: "the numerical solver"},
		{Name: "gpu-export", Kind: licensor.FeatureCounted, Description: "export on GPU"},
		{Name: "reporting", Kind: licensor.FeatureBoolean, Description: "reports"},
	} {
		f.ProductID = p.ID
		if _, err := svc.CreateFeature(op, t.ID, f); err != nil {
			return nil, err
		}
	}
	cu, err := svc.CreateCustomer(op, t.ID, licensor.Customer{Name: "Acme Corp", Email: "it@acme.example"})
	if err != nil {
		return nil, err
	}
	now := m.Now().UTC()
	c, err := svc.CreateContract(op, t.ID, licensor.Contract{
		CustomerID: cu.ID, ProductID: p.ID, Name: "Acme annual",
		StartsAt: now, EndsAt: now.AddDate(1, 0, 0),
		Features: []licensor.Entitlement{{Feature: "solver", Count: 50}, {Feature: "gpu-export", Count: 5}, {Feature: "reporting"}},
		MaxSeats: 25, Fallback: licensor.FallbackPerpetual,
	})
	if err != nil {
		return nil, err
	}
	_, token, err := svc.CreateToken(op, t.ID, licensor.Token{Role: licensor.RoleContract, ContractID: c.ID, Name: "demo instances"})
	if err != nil {
		return nil, err
	}
	pool, err := svc.CreatePool(op, t.ID, licensor.Pool{
		CustomerID: cu.ID, Name: "Acme floating",
		Features: []licensor.PoolFeature{{Feature: "solver", MaxUnits: 50}, {Feature: "gpu-export", MaxUnits: 5}},
	})
	if err != nil {
		return nil, err
	}
	d := &DemoFile{TenantID: t.ID, ProductID: p.ID, CustomerID: cu.ID, ContractID: c.ID, PoolID: pool.ID, Token: token, AdminToken: adminToken}
	return d, nil
}
