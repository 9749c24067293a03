package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// TestURLSeatsEnvironmentClaim: under the production-URL seat rule the
// license tells a non-production instance from a production one: a staging
// site's license says staging and holds no seat, the production site's
// says production and holds one, and a site that reported no environment is
// production (as it takes a seat as production).
func TestURLSeatsEnvironmentClaim(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 2)
			keys := fetchJWKS(t, s, f.TenantID)
			for _, c := range []struct {
				url, env, wantEnv string
				seat              bool
			}{
				{"https://staging.shop.example.com", "staging", "staging", false},
				{"http://localhost:3000", "development", "development", false},
				{"https://shop.example.com", "production", "production", true},
				{"https://www.shop.example.com", "", "production", true},
			} {
				lic, err := check(ctx, s, p, f, c.url, c.env)
				if err != nil {
					t.Fatalf("%s (%q): %v", c.url, c.env, err)
				}
				cl := verifyAt(t, s, lic, keys)
				if cl.Environment != c.wantEnv || cl.Production() != (c.wantEnv == licensor.EnvProduction) {
					t.Errorf("%s: got environment %q (production %v), want %q", c.url, cl.Environment, cl.Production(), c.wantEnv)
				}
				if seat, known := cl.HoldsSeat(); !known || seat != c.seat {
					t.Errorf("%s: got seat %v (known %v), want %v", c.url, seat, known, c.seat)
				}
			}
			if got := seatsUsed(ctx, t, s, f); got != 2 {
				t.Errorf("seats used: got %d, want 2 (the production sites only)", got)
			}
		})
	}
}

// TestLicenseFileEnvironment: the vendor may restrict a static license file
// to an environment; without one the claim is left out (unrestricted); an
// unknown environment is refused.
func TestLicenseFileEnvironment(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	adm := s.Admin(testserver.Connect, f.AdminToken)
	keys := fetchJWKS(t, s, f.TenantID)
	for _, tc := range []struct {
		name, env string
		code      connect.Code
	}{
		{"Unrestricted", "", 0},
		{"Test", "test", 0},
		{"Unknown", "qa", connect.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := adm.IssueLicenseFile(ctx, connect.NewRequest(&v1.IssueLicenseFileRequest{ContractId: f.ContractID, InstanceId: "offline-1", Environment: tc.env}))
			if tc.code != 0 {
				if connect.CodeOf(err) != tc.code {
					t.Fatalf("IssueLicenseFile: got %v, want %v", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tok, err := license.Dearmor([]byte(res.Msg.LicenseFile))
			if err != nil {
				t.Fatal(err)
			}
			cl, err := license.Verify(tok, keys, license.VerifyOptions{Now: s.Clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if cl.Environment != tc.env || cl.Seat != nil {
				t.Errorf("claims: got environment %q seat %v, want %q and no seat claim", cl.Environment, cl.Seat, tc.env)
			}
		})
	}
}
