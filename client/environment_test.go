package client

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testlog"
	"github.com/licensor/licensor/internal/testserver"
)

// Under a production-URL seat contract, the license a staging instance gets
// says staging and holds no seat, so the product can tell; the production
// instance's license says production and holds the seat.
func TestLicenseEnvironment(t *testing.T) {
	e := newEnv(t, testserver.FixtureOptions{MaxSeats: 1, SeatRule: string(licensor.SeatProductionURL)})
	for _, tc := range []struct {
		name, instance, env string
		wantEnv             string
		production, seat    bool
	}{
		{"Staging", "https://staging.shop.example.com", "staging", "staging", false, false},
		{"Development", "https://dev.shop.example.com", "development", "development", false, false},
		{"Production", "https://shop.example.com", "production", "production", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(t, tc.instance, t.TempDir())
			cfg.Telemetry = func() Telemetry { return Telemetry{Environment: tc.env} }
			c := newClient(t, cfg)
			if err := c.Start(context.Background()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			l := c.License()
			if l == nil {
				t.Fatal("License: got nil, want the license")
			}
			if l.Environment() != tc.wantEnv {
				t.Errorf("Environment(): got %q, want %q", l.Environment(), tc.wantEnv)
			}
			if l.Production() != tc.production || c.Production() != tc.production {
				t.Errorf("Production(): got license %v, client %v; want %v", l.Production(), c.Production(), tc.production)
			}
			if seat, known := l.Claims.HoldsSeat(); !known || seat != tc.seat {
				t.Errorf("seat: got %v (known %v), want %v", seat, known, tc.seat)
			}
			if strings.Contains(e.logs.String(), "another environment") {
				t.Errorf("logs: got an environment warning for a license that matches:\n%s", e.logs.String())
			}
		})
	}
}

// A license whose environment differs from the one the instance declared is
// still used as it says, with one warning however often it is refreshed; a
// license without the claim (unrestricted) warns of nothing.
func TestLicenseEnvironmentMismatchWarns(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	k := testKeys(t)
	for _, tc := range []struct {
		name, declared, licensed string
		warnings                 int
		production               bool
	}{
		{"DeclaredProductionGotStaging", "production", "staging", 1, false},
		{"DeclaredNothingGotTest", "", "test", 1, false},
		{"DeclaredStagingGotProduction", "staging", "production", 1, true},
		{"Match", "staging", "staging", 0, false},
		{"Unrestricted", "staging", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock(testserver.NewClock(now))
			var n atomic.Int32
			url, pool := fakeServer(t, fakeLicenseHandler(func(context.Context, *v1.GetLicenseRequest) (*v1.GetLicenseResponse, error) {
				cl := testClaims(clock.Now())
				cl.ID = fmt.Sprintf("lic_%d", n.Add(1))
				cl.Environment = tc.licensed
				return &v1.GetLicenseResponse{License: &v1.IssuedLicense{Token: k.sign(t, cl), ServerTime: timestamppb.New(clock.Now())}}, nil
			}))
			logs := &testlog.Buffer{}
			cfg := Config{Server: url, ContractID: "con_1", Token: "t", InstanceID: "node-1", Keys: k.set,
				RootCAs: pool, Now: clock.Now, After: clock.After, Logger: slogTo(logs)}
			if tc.declared != "" {
				cfg.Telemetry = func() Telemetry { return Telemetry{Environment: tc.declared} }
			}
			c := newClient(t, cfg)
			if err := c.Start(context.Background()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			clock.Advance(time.Minute)
			if err := c.Refresh(context.Background()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if got := strings.Count(logs.String(), "another environment"); got != tc.warnings {
				t.Errorf("environment warnings: got %d, want %d; logs:\n%s", got, tc.warnings, logs.String())
			}
			if got := c.License().Environment(); got != tc.licensed {
				t.Errorf("Environment(): got %q, want %q", got, tc.licensed)
			}
			if c.Production() != tc.production {
				t.Errorf("Production(): got %v, want %v", c.Production(), tc.production)
			}
		})
	}
}
