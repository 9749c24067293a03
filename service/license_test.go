package service

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

const day = 24 * time.Hour

func (f *fixture) license(ctx context.Context, c *licensor.Contract, instance, env string) (*Issued, error) {
	return f.svc.GetLicense(ctx, LicenseRequest{ContractID: c.ID, InstanceID: instance, Environment: env})
}

// A contract licenses nothing before its start, licenses while active
// (never past its end), nothing while suspended, and nothing once ended
// without a fallback: checked as the clock moves through its life.
func TestContractStatusOverTime(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.contract(licensor.Contract{StartsAt: start.Add(2 * day), EndsAt: start.Add(30 * day)})
	suspend := func(st licensor.ContractStatus) {
		t.Helper()
		if _, err := f.svc.ChangeContract(f.admin, "", c.ID, ContractChange{Status: &st}); err != nil {
			t.Fatalf("ChangeContract status %s: %v", st, err)
		}
	}
	for _, tc := range []struct {
		name    string
		advance time.Duration // from the previous step
		before  func()
		code    string
		msg     string
		expiry  time.Duration // from now; -1: the contract's end
	}{
		{name: "BeforeStart", code: licensor.EFORBIDDEN, msg: "starts at"},
		{name: "JustBeforeStart", advance: 2*day - time.Second, code: licensor.EFORBIDDEN, msg: "starts at"},
		{name: "AtStart", advance: time.Second, expiry: licensor.DefaultLicenseValidity},
		{name: "Active", advance: 10 * day, expiry: licensor.DefaultLicenseValidity},
		{name: "Suspended", before: func() { suspend(licensor.ContractSuspended) }, code: licensor.EFORBIDDEN, msg: "suspended"},
		{name: "ActiveAgain", before: func() { suspend(licensor.ContractActive) }, expiry: licensor.DefaultLicenseValidity},
		{name: "NearEndCappedAtEnd", advance: 10 * day, expiry: -1},
		{name: "JustBeforeEnd", advance: 8*day - time.Second, expiry: -1},
		{name: "AtEnd", advance: time.Second, code: licensor.EFORBIDDEN, msg: "has ended"},
		{name: "LongAfterEnd", advance: 400 * day, code: licensor.EFORBIDDEN, msg: "has ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.advance)
			if tc.before != nil {
				tc.before()
			}
			now := f.clock.Now()
			got, err := f.license(ctx, c, "node-1", "")
			wantCode(t, "GetLicense", err, tc.code)
			if tc.code != "" {
				if !strings.Contains(licensor.ErrorMessage(err), tc.msg) {
					t.Errorf("got message %q, want it to say %q", licensor.ErrorMessage(err), tc.msg)
				}
				return
			}
			want := now.Add(tc.expiry)
			if tc.expiry < 0 {
				want = c.EndsAt
			}
			if got.Claims.Expiry != want.Unix() || got.Claims.NotBefore != now.Unix() {
				t.Errorf("got nbf %s exp %s; want nbf %s exp %s", time.Unix(got.Claims.NotBefore, 0).UTC(), time.Unix(got.Claims.Expiry, 0).UTC(), now, want)
			}
		})
	}
}

// A license says what the contract says: exp = now + validity, refresh
// after the refresh interval, the features, who it is for; it verifies
// against the tenant's published keys.
func TestLicenseClaims(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name     string
		c        licensor.Contract
		features map[string]any
	}{
		{"Defaults", licensor.Contract{}, map[string]any{"solver": int64(10), "export": true}},
		{"ShortValidity", licensor.Contract{LicenseValidity: 3 * time.Hour, RefreshInterval: 20 * time.Minute,
			Features: []licensor.Entitlement{{Feature: "solver", Count: 2}}}, map[string]any{"solver": int64(2)}},
		{"LongValidity", licensor.Contract{LicenseValidity: 90 * day, RefreshInterval: 2 * day,
			Features: []licensor.Entitlement{{Feature: "export"}}}, map[string]any{"export": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(time.Hour)
			c, ctx := f.contract(tc.c)
			now := f.clock.Now()
			got, err := f.license(ctx, c, "node-1", "production")
			if err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
			cl := got.Claims
			if cl.Expiry != now.Add(c.LicenseValidity).Unix() {
				t.Errorf("exp: got %d, want now + %s = %d", cl.Expiry, c.LicenseValidity, now.Add(c.LicenseValidity).Unix())
			}
			if cl.RefreshAfter != int64(c.RefreshInterval/time.Second) {
				t.Errorf("refresh_after: got %d, want %d", cl.RefreshAfter, int64(c.RefreshInterval/time.Second))
			}
			if !reflect.DeepEqual(cl.Features, tc.features) {
				t.Errorf("features: got %v, want %v", cl.Features, tc.features)
			}
			if cl.Issuer != f.tenantID || cl.Subject != "node-1" || cl.Contract != c.ID || cl.Customer != f.customer || cl.Product != f.product ||
				cl.Kind != licensor.LicenseKindLive || cl.ContractVersion != c.Version || cl.FallbackCutoff != 0 {
				t.Errorf("claims: got %+v; want issuer %s, subject node-1, contract %s, customer %s, product %s, live, version %d, no cutoff",
					cl, f.tenantID, c.ID, f.customer, f.product, c.Version)
			}
			if !got.ServerTime.Equal(now) {
				t.Errorf("server time: got %s, want %s", got.ServerTime, now)
			}
			keys, err := f.svc.KeySet(f.tenantCtx())
			if err != nil {
				t.Fatal(err)
			}
			v, err := license.Verify(got.Token, keys, license.VerifyOptions{Now: now})
			if err != nil || v.ID != cl.ID {
				t.Errorf("Verify: got %v, %v; want the license %s", v, err, cl.ID)
			}
		})
	}
}

// Under the perpetual fallback an ended contract still licenses, with the
// contract's end as the cutoff and a full validity; without it, nothing.
func TestPerpetualFallbackCutoff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fallback licensor.FallbackRule
		end      func(f *fixture, c *licensor.Contract) time.Time // ends the contract, returns its end
	}{
		{"EndDatePassesPerpetual", licensor.FallbackPerpetual, func(f *fixture, c *licensor.Contract) time.Time {
			f.clock.Advance(11 * day)
			return c.EndsAt
		}},
		{"EndedEarlyPerpetual", licensor.FallbackPerpetual, func(f *fixture, c *licensor.Contract) time.Time {
			f.clock.Advance(3 * day)
			ended, err := f.svc.EndContract(f.admin, "", c.ID)
			if err != nil {
				f.t.Fatalf("EndContract: %v", err)
			}
			if !ended.EndsAt.Equal(f.clock.Now()) {
				f.t.Errorf("end after EndContract: got %s, want now %s", ended.EndsAt, f.clock.Now())
			}
			return f.clock.Now()
		}},
		{"EndDatePassesNone", licensor.FallbackNone, func(f *fixture, c *licensor.Contract) time.Time {
			f.clock.Advance(11 * day)
			return c.EndsAt
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c, ctx := f.contract(licensor.Contract{EndsAt: start.Add(10 * day), Fallback: tc.fallback})
			before, err := f.license(ctx, c, "node-1", "")
			if err != nil {
				t.Fatalf("GetLicense before the end: %v", err)
			}
			if before.Claims.FallbackCutoff != 0 || before.Claims.Expiry != c.EndsAt.Unix() {
				t.Errorf("before the end: got cutoff %d, exp %d; want none and the end %d", before.Claims.FallbackCutoff, before.Claims.Expiry, c.EndsAt.Unix())
			}
			end := tc.end(f, c)
			f.clock.Advance(time.Hour)
			got, err := f.license(ctx, c, "node-1", "")
			if tc.fallback != licensor.FallbackPerpetual {
				wantCode(t, "GetLicense after the end", err, licensor.EFORBIDDEN)
				return
			}
			if err != nil {
				t.Fatalf("GetLicense after the end: %v", err)
			}
			now := f.clock.Now()
			if got.Claims.FallbackCutoff != end.Unix() || got.Claims.FallbackRule != licensor.FallbackPerpetual {
				t.Errorf("cutoff: got %d (%s), want the end %d (%s)", got.Claims.FallbackCutoff, got.Claims.FallbackRule, end.Unix(), licensor.FallbackPerpetual)
			}
			if got.Claims.Expiry != now.Add(licensor.DefaultLicenseValidity).Unix() {
				t.Errorf("exp after the end: got %d, want now + validity %d", got.Claims.Expiry, now.Add(licensor.DefaultLicenseValidity).Unix())
			}
		})
	}
}

// Seats: under the instance rule every instance takes one; under the
// production-URL rule only production origins do (dev, staging and test
// take none; an unset environment counts as production), and two
// spellings of one origin are one seat.
func TestSeatRules(t *testing.T) {
	type call struct {
		instance, env string
		code          string
		msg           string
	}
	for _, tc := range []struct {
		name  string
		rule  licensor.SeatRule
		seats int
		calls []call
		used  int
	}{
		{"InstanceRule", licensor.SeatInstance, 2, []call{
			{instance: "node-a"}, {instance: "node-b", env: "development"}, {instance: "node-a"},
			{instance: "node-c", code: licensor.EEXHAUSTED},
		}, 2},
		{"ProductionURLRule", licensor.SeatProductionURL, 1, []call{
			{instance: "https://shop.example.com", env: "production"},
			{instance: "https://SHOP.example.com:443/", env: "production"},
			{instance: "https://dev.example.com", env: "development"},
			{instance: "https://staging.example.com", env: "staging"},
			{instance: "https://ci.example.com", env: "test"},
			{instance: "https://other.example.com", env: "production", code: licensor.EEXHAUSTED, msg: "taken by https://shop.example.com"},
			{instance: "https://unset.example.com", code: licensor.EEXHAUSTED, msg: "production URL seats"},
			{instance: "https://shop.example.com/cart", code: licensor.EINVALID},
		}, 1},
		{"Unlimited", licensor.SeatInstance, 0, []call{{instance: "a"}, {instance: "b"}, {instance: "c"}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c, ctx := f.contract(licensor.Contract{SeatRule: tc.rule, MaxSeats: tc.seats})
			for _, cl := range tc.calls {
				_, err := f.license(ctx, c, cl.instance, cl.env)
				wantCode(t, "GetLicense "+cl.instance+" "+cl.env, err, cl.code)
				if cl.msg != "" && !strings.Contains(licensor.ErrorMessage(err), cl.msg) {
					t.Errorf("%s: got message %q, want it to say %q", cl.instance, licensor.ErrorMessage(err), cl.msg)
				}
				f.clock.Advance(time.Minute)
			}
			got, err := f.svc.GetContract(f.admin, "", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.SeatsUsed != tc.used {
				t.Errorf("seats used: got %d, want %d", got.SeatsUsed, tc.used)
			}
		})
	}
}

// Releasing a seat lets another instance take it.
func TestReleaseSeat(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.contract(licensor.Contract{SeatRule: licensor.SeatProductionURL, MaxSeats: 1})
	if _, err := f.license(ctx, c, "https://shop.example.com", "production"); err != nil {
		t.Fatal(err)
	}
	_, err := f.license(ctx, c, "https://new.example.com", "production")
	wantCode(t, "GetLicense of a second site", err, licensor.EEXHAUSTED)
	// Any spelling of the origin finds the instance.
	if _, err := f.svc.ReleaseSeat(f.admin, "", c.ID, "https://SHOP.example.com:443"); err != nil {
		t.Fatalf("ReleaseSeat: %v", err)
	}
	if _, err := f.license(ctx, c, "https://new.example.com", "production"); err != nil {
		t.Errorf("GetLicense after the release: got %v, want a license", err)
	}
}
