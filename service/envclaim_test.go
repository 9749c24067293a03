package service

import (
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// Every live license names its environment and whether it holds a seat, so
// a product can tell a staging license from a production one: under the
// production-URL rule a staging instance's license says staging and holds
// no seat; a production one says production and holds one; an instance that
// reported no environment is production, as it takes a seat as production.
func TestLicenseEnvironmentClaim(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rule     licensor.SeatRule
		instance string
		env      string
		wantEnv  string
		wantSeat bool
	}{
		{"ProductionURLStaging", licensor.SeatProductionURL, "https://staging.shop.example.com", "staging", "staging", false},
		{"ProductionURLDevelopment", licensor.SeatProductionURL, "https://dev.shop.example.com", "development", "development", false},
		{"ProductionURLTest", licensor.SeatProductionURL, "https://ci.shop.example.com", "test", "test", false},
		{"ProductionURLProduction", licensor.SeatProductionURL, "https://shop.example.com", "production", "production", true},
		{"ProductionURLUnset", licensor.SeatProductionURL, "https://shop.example.com", "", "production", true},
		{"InstanceRuleStaging", licensor.SeatInstance, "node-1", "staging", "staging", true},
		{"InstanceRuleUnset", licensor.SeatInstance, "node-1", "", "production", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c, ctx := f.contract(licensor.Contract{SeatRule: tc.rule, MaxSeats: 1})
			got, err := f.license(ctx, c, tc.instance, tc.env)
			if err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
			// The claims as a product reads them: verified from the token.
			keys, err := f.svc.KeySet(f.tenantCtx())
			if err != nil {
				t.Fatal(err)
			}
			cl, err := license.Verify(got.Token, keys, license.VerifyOptions{Now: f.clock.Now()})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if cl.Environment != tc.wantEnv {
				t.Errorf("environment: got %q, want %q", cl.Environment, tc.wantEnv)
			}
			if seat, known := cl.HoldsSeat(); !known || seat != tc.wantSeat {
				t.Errorf("seat: got %v (known %v), want %v", seat, known, tc.wantSeat)
			}
			if cl.Production() != (tc.wantEnv == "production") {
				t.Errorf("Production(): got %v, want %v", cl.Production(), tc.wantEnv == "production")
			}
			used, err := f.svc.GetContract(f.admin, "", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.wantSeat]; used.SeatsUsed != want {
				t.Errorf("seats used: got %d, want %d", used.SeatsUsed, want)
			}
		})
	}
}

// A static license file names an environment only when the vendor sets
// one; without it the claim is left out (unrestricted), and a file never
// claims a seat.
func TestLicenseFileEnvironment(t *testing.T) {
	f := newFixture(t)
	c, _ := f.contract(licensor.Contract{})
	for _, tc := range []struct {
		name, env, code string
	}{
		{"Unrestricted", "", ""},
		{"Staging", "staging", ""},
		{"Production", "production", ""},
		{"Unknown", "qa", licensor.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, is, err := f.svc.IssueLicenseFile(f.admin, "", c.ID, "site-1", tc.env, 0)
			wantCode(t, "IssueLicenseFile", err, tc.code)
			if err != nil {
				return
			}
			if is.Claims.Environment != tc.env {
				t.Errorf("environment: got %q, want %q", is.Claims.Environment, tc.env)
			}
			if is.Claims.Seat != nil {
				t.Errorf("seat: got %v, want no seat claim on a file", *is.Claims.Seat)
			}
		})
	}
}
