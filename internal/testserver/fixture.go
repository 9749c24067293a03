package testserver

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// Fixture is a tenant with a product, features, a customer, a contract and
// its tokens, all created through the admin API.
type Fixture struct {
	TenantID      string
	AdminToken    string
	ProductID     string
	CustomerID    string
	ContractID    string
	ContractToken string
	Contract      *v1.Contract
}

// FixtureOptions shape the contract.
type FixtureOptions struct {
	MaxSeats int32
	// EndsIn sets the contract's end relative to the clock; 0: 90 days.
	EndsIn time.Duration
	// Features granted; default solver=50, gpu-export=5, reporting.
	Features []*v1.Entitlement
	SeatRule string
	Fallback string
	Refresh  time.Duration
	Validity time.Duration
	ClientCA string
}

// NewFixture creates a fresh tenant and everything under it.
func (s *Server) NewFixture(t testing.TB, o FixtureOptions) *Fixture {
	t.Helper()
	ctx := context.Background()
	op := s.Admin(GRPC, s.OperatorToken)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	tr, err := op.CreateTenant(ctx, connect.NewRequest(&v1.CreateTenantRequest{Name: "Vendor " + t.Name(), CreateAdminToken: true}))
	must(err)
	f := &Fixture{TenantID: tr.Msg.Tenant.Id, AdminToken: tr.Msg.AdminToken}
	adm := s.Admin(GRPC, f.AdminToken)
	pr, err := adm.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{Name: "Suite"}))
	must(err)
	f.ProductID = pr.Msg.Product.Id
	for _, fe := range []struct{ name, kind string }{{"solver", "counted"}, {"gpu-export", "counted"}, {"reporting", "boolean"}} {
		_, err := adm.CreateFeature(ctx, connect.NewRequest(&v1.CreateFeatureRequest{ProductId: f.ProductID, Name: fe.name, Kind: fe.kind}))
		must(err)
	}
	cr, err := adm.CreateCustomer(ctx, connect.NewRequest(&v1.CreateCustomerRequest{Name: "Acme"}))
	must(err)
	f.CustomerID = cr.Msg.Customer.Id
	if o.EndsIn == 0 {
		o.EndsIn = 90 * 24 * time.Hour
	}
	if o.Features == nil {
		o.Features = []*v1.Entitlement{{Feature: "solver", Count: 50}, {Feature: "gpu-export", Count: 5}, {Feature: "reporting"}}
	}
	now := s.Clock.Now()
	req := &v1.CreateContractRequest{
		CustomerId: f.CustomerID, ProductId: f.ProductID, Name: "annual",
		StartsAt: timestamppb.New(now), EndsAt: timestamppb.New(now.Add(o.EndsIn)),
		Features: o.Features, MaxSeats: o.MaxSeats, SeatRule: o.SeatRule, Fallback: o.Fallback, ClientCaPem: o.ClientCA,
	}
	if o.Refresh != 0 {
		req.RefreshInterval = durationpb.New(o.Refresh)
	}
	if o.Validity != 0 {
		req.LicenseValidity = durationpb.New(o.Validity)
	}
	cc, err := adm.CreateContract(ctx, connect.NewRequest(req))
	must(err)
	f.ContractID, f.Contract = cc.Msg.Contract.Id, cc.Msg.Contract
	tk, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: f.ContractID, Name: "instances"}))
	must(err)
	f.ContractToken = tk.Msg.Secret
	return f
}
