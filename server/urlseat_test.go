package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// check is one runtime check of a web application: its origin and the
// environment it reports.
func check(ctx context.Context, s *testserver.Server, p testserver.Protocol, f *testserver.Fixture, url, env string) (*v1.IssuedLicense, error) {
	res, err := s.License(p, f.ContractToken).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{
		ContractId: f.ContractID, InstanceId: url, Telemetry: &v1.Telemetry{Environment: env, ProductVersion: "3.1.0"},
	}))
	if err != nil {
		return nil, err
	}
	return res.Msg.License, nil
}

func urlFixture(t *testing.T, s *testserver.Server, seats int32) *testserver.Fixture {
	t.Helper()
	return s.NewFixture(t, testserver.FixtureOptions{MaxSeats: seats, SeatRule: string(licensor.SeatProductionURL)})
}

func listInstances(ctx context.Context, t *testing.T, s *testserver.Server, p testserver.Protocol, f *testserver.Fixture) []*v1.Instance {
	t.Helper()
	res, err := s.Admin(p, f.AdminToken).ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{ContractId: f.ContractID}))
	if err != nil {
		t.Fatalf("ListInstances: %v", err)
	}
	return res.Msg.Instances
}

func seatsUsed(ctx context.Context, t *testing.T, s *testserver.Server, f *testserver.Fixture) int32 {
	t.Helper()
	res, err := s.Admin(testserver.GRPC, f.AdminToken).GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: f.ContractID}))
	if err != nil {
		t.Fatalf("GetContract: %v", err)
	}
	return res.Msg.Contract.SeatsUsed
}

// TestURLSeatsThirdRefused: three production URLs on a two-seat contract;
// the third is refused with RESOURCE_EXHAUSTED naming the two that hold
// the seats, and nothing of it is stored.
func TestURLSeatsThirdRefused(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 2)
			for _, u := range []string{"https://shop.example.com", "https://eu.example.com"} {
				lic, err := check(ctx, s, p, f, u, "production")
				if err != nil {
					t.Fatalf("check %s: %v", u, err)
				}
				if lic.Token == "" {
					t.Fatalf("check %s: empty license", u)
				}
			}
			_, err := check(ctx, s, p, f, "https://us.example.com", "production")
			if got := connect.CodeOf(err); got != connect.CodeResourceExhausted {
				t.Fatalf("third URL: got %v (%v), want resource_exhausted", got, err)
			}
			msg := err.(*connect.Error).Message()
			for _, u := range []string{"https://shop.example.com", "https://eu.example.com"} {
				if !strings.Contains(msg, u) {
					t.Errorf("message: got %q, want it to name %s", msg, u)
				}
			}
			if strings.Contains(msg, "us.example.com") {
				t.Errorf("message: got %q, want it not to name the refused URL as a holder", msg)
			}
			if got := len(listInstances(ctx, t, s, p, f)); got != 2 {
				t.Errorf("instances: got %d, want 2 (the refused URL is not stored)", got)
			}
			// An unset environment counts as production.
			_, err = check(ctx, s, p, f, "https://no-env.example.com", "")
			if got := connect.CodeOf(err); got != connect.CodeResourceExhausted {
				t.Errorf("URL without an environment: got %v, want resource_exhausted", got)
			}
		})
	}
}

// TestURLSeatsNonProductionFree: development, test and staging URLs take no
// seat but are recorded.
func TestURLSeatsNonProductionFree(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 1)
			if _, err := check(ctx, s, p, f, "https://shop.example.com", "production"); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ url, env string }{
				{"https://staging.shop.example.com", "staging"},
				{"https://staging2.shop.example.com", "staging"},
				{"http://localhost:3000", "development"},
				{"http://ci.internal:8080", "test"},
			} {
				if _, err := check(ctx, s, p, f, c.url, c.env); err != nil {
					t.Errorf("%s (%s) on a full contract: got %v, want a license", c.url, c.env, err)
				}
			}
			if got := seatsUsed(ctx, t, s, f); got != 1 {
				t.Errorf("seats used: got %d, want 1", got)
			}
			var seats []string
			instances := listInstances(ctx, t, s, p, f)
			for _, i := range instances {
				if i.Seat {
					seats = append(seats, i.InstanceId)
				}
			}
			if len(instances) != 5 || !slices.Equal(seats, []string{"https://shop.example.com"}) {
				t.Errorf("instances: got %d with seats %v, want 5 recorded and only https://shop.example.com holding a seat", len(instances), seats)
			}
		})
	}
}

// TestURLSeatsSpellings: one site in different spellings is one instance
// and one seat, and the license names it in its normalized form.
func TestURLSeatsSpellings(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 1)
			keys := fetchJWKS(t, s, f.TenantID)
			for _, u := range []string{
				"https://shop.example.com", "HTTPS://SHOP.Example.com/", "https://shop.example.com:443",
				"https://shop.example.com.", "https://Shop.Example.Com:0443/",
			} {
				lic, err := check(ctx, s, p, f, u, "production")
				if err != nil {
					t.Fatalf("spelling %q: got %v, want a license for the one seat", u, err)
				}
				c := verifyAt(t, s, lic, keys)
				if c.Subject != "https://shop.example.com" {
					t.Errorf("spelling %q: license sub %q, want https://shop.example.com", u, c.Subject)
				}
			}
			if got := seatsUsed(ctx, t, s, f); got != 1 {
				t.Errorf("seats used: got %d, want 1", got)
			}
			if got := len(listInstances(ctx, t, s, p, f)); got != 1 {
				t.Errorf("instances: got %d, want 1", got)
			}
			// Another port is another origin.
			if _, err := check(ctx, s, p, f, "https://shop.example.com:8443", "production"); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Errorf("other port: got %v, want resource_exhausted", err)
			}
		})
	}
}

// TestURLSeatRelease: after a domain move the admin releases the old URL's
// seat — named in any spelling — and the new URL takes it.
func TestURLSeatRelease(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 1)
			adm := s.Admin(p, f.AdminToken)
			if _, err := check(ctx, s, p, f, "https://old.example.com", "production"); err != nil {
				t.Fatal(err)
			}
			if _, err := check(ctx, s, p, f, "https://new.example.com", "production"); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("new URL before release: got %v, want resource_exhausted", err)
			}
			gi, err := adm.GetInstance(ctx, connect.NewRequest(&v1.GetInstanceRequest{ContractId: f.ContractID, InstanceId: "HTTPS://Old.Example.com:443/"}))
			if err != nil {
				t.Fatalf("GetInstance by another spelling: %v", err)
			}
			if gi.Msg.Instance.InstanceId != "https://old.example.com" || !gi.Msg.Instance.Seat {
				t.Errorf("GetInstance: got %s seat=%v, want https://old.example.com holding a seat", gi.Msg.Instance.InstanceId, gi.Msg.Instance.Seat)
			}
			rs, err := adm.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{ContractId: f.ContractID, InstanceId: "https://OLD.example.com/"}))
			if err != nil {
				t.Fatalf("ReleaseSeat: %v", err)
			}
			if rs.Msg.Instance.Seat {
				t.Errorf("released instance: got seat=true, want false")
			}
			if _, err := check(ctx, s, p, f, "https://new.example.com", "production"); err != nil {
				t.Errorf("new URL after release: got %v, want a license", err)
			}
			if _, err := check(ctx, s, p, f, "https://old.example.com", "production"); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Errorf("old URL after the move: got %v, want resource_exhausted", err)
			}
			_, err = adm.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{ContractId: f.ContractID, InstanceId: "https://old.example.com/path"}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("ReleaseSeat of a URL with a path: got %v, want invalid_argument", err)
			}
		})
	}
}

func verifyAt(t *testing.T, s *testserver.Server, lic *v1.IssuedLicense, keys license.KeySet) *licensor.Claims {
	t.Helper()
	c, err := license.Verify(lic.Token, keys, license.VerifyOptions{Now: s.Clock.Now()})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return c
}
