package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/service"
)

// The token and contract caches of the hot path: a change through this
// server shows on the very next call; a change straight in the database
// (as another server sharing it would make) shows within the cache TTL.
func TestHotPathCaches(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			get := func(t *testing.T, lc interface {
				GetLicense(context.Context, *connect.Request[v1.GetLicenseRequest]) (*connect.Response[v1.GetLicenseResponse], error)
			}, f *testserver.Fixture) (*v1.IssuedLicense, error) {
				t.Helper()
				res, err := lc.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "i-1"}))
				if err != nil {
					return nil, err
				}
				return res.Msg.License, nil
			}

			t.Run("RevokedHereRefusedAtOnce", func(t *testing.T) {
				s := testserver.Start(t)
				f := s.NewFixture(t, testserver.FixtureOptions{})
				lc := s.License(p, f.ContractToken)
				if _, err := get(t, lc, f); err != nil {
					t.Fatal(err)
				}
				adm := s.Admin(p, f.AdminToken)
				list, err := adm.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{ContractId: f.ContractID}))
				if err != nil || len(list.Msg.Tokens) != 1 {
					t.Fatalf("ListTokens: got %v, %v; want one token", list, err)
				}
				if _, err := adm.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: list.Msg.Tokens[0].Id})); err != nil {
					t.Fatal(err)
				}
				if _, err := get(t, lc, f); connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Errorf("GetLicense after revocation: got %v, want %v", err, connect.CodeUnauthenticated)
				}
			})

			t.Run("ChangedHereShowsAtOnce", func(t *testing.T) {
				s := testserver.Start(t)
				f := s.NewFixture(t, testserver.FixtureOptions{})
				lc := s.License(p, f.ContractToken)
				first, err := get(t, lc, f)
				if err != nil {
					t.Fatal(err)
				}
				adm := s.Admin(p, f.AdminToken)
				if _, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{ContractId: f.ContractID,
					SetFeatures: true, Features: []*v1.Entitlement{{Feature: "solver", Count: 80}}})); err != nil {
					t.Fatal(err)
				}
				next, err := get(t, lc, f)
				if err != nil {
					t.Fatal(err)
				}
				if next.ContractVersion != first.ContractVersion+1 {
					t.Errorf("contract version: got %d, want %d", next.ContractVersion, first.ContractVersion+1)
				}
			})

			t.Run("ChangedElsewhereShowsWithinTTL", func(t *testing.T) {
				s := testserver.Start(t)
				f := s.NewFixture(t, testserver.FixtureOptions{})
				lc := s.License(p, f.ContractToken)
				first, err := get(t, lc, f)
				if err != nil {
					t.Fatal(err)
				}
				tctx := licensor.WithTenant(ctx, f.TenantID)
				c, err := s.Store.GetContract(tctx, f.ContractID)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Store.UpdateContract(tctx, c); err != nil {
					t.Fatal(err)
				}
				toks, err := s.Store.ListTokens(tctx, licensor.TokenFilter{ContractID: f.ContractID, ListOptions: licensor.ListOptions{Limit: 10}})
				if err != nil || len(toks) != 1 {
					t.Fatalf("ListTokens: got %d, %v; want one token", len(toks), err)
				}
				if _, err := s.Store.RevokeToken(tctx, toks[0].ID, s.Clock.Now()); err != nil {
					t.Fatal(err)
				}
				s.Clock.Advance(service.DefaultCacheTTL)
				if _, err := get(t, lc, f); connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Errorf("GetLicense after a revocation elsewhere and the TTL: got %v, want %v", err, connect.CodeUnauthenticated)
				}
				// A new token for the same contract sees the changed contract.
				adm := s.Admin(p, f.AdminToken)
				tk, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: f.ContractID}))
				if err != nil {
					t.Fatal(err)
				}
				next, err := get(t, s.License(p, tk.Msg.Secret), f)
				if err != nil {
					t.Fatal(err)
				}
				if next.ContractVersion != first.ContractVersion+1 {
					t.Errorf("contract version after a change elsewhere and the TTL: got %d, want %d", next.ContractVersion, first.ContractVersion+1)
				}
			})
		})
	}
}
