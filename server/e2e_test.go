package server_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// fetchJWKS reads the tenant's key set over HTTPS, as an outside verifier would.
func fetchJWKS(t *testing.T, s *testserver.Server, tenantID string) license.KeySet {
	t.Helper()
	res, err := s.HTTPClient().Get(s.URL + licensor.JWKSPath + "?tenant=" + tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("jwks: got %s %s, want 200", res.Status, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("jwks content type: got %q, want application/jwk-set+json", ct)
	}
	keys, err := license.ParseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func getLicense(ctx context.Context, t *testing.T, s *testserver.Server, p testserver.Protocol, token, contractID, instanceID string) (*v1.IssuedLicense, error) {
	t.Helper()
	res, err := s.License(p, token).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: contractID, InstanceId: instanceID, Host: "node-1"}))
	if err != nil {
		return nil, err
	}
	return res.Msg.License, nil
}

// TestLicenseEndToEnd is the core flow over both wire protocols: create
// everything through the API, fetch a license, verify it offline with the
// JWKS, extend the contract and see the new expiry on the next license.
func TestLicenseEndToEnd(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			// The contract ends in 10 days: licenses are capped at its end,
			// so an extension shows in the next license's expiry.
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 10 * 24 * time.Hour, MaxSeats: 5})
			lic, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if err != nil {
				t.Fatalf("GetLicense: %v", err)
			}
			keys := fetchJWKS(t, s, f.TenantID)
			claims, err := license.Verify(lic.Token, keys, license.VerifyOptions{Now: s.Clock.Now()})
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			now := s.Clock.Now()
			checks := []struct {
				name      string
				got, want any
			}{
				{"iss", claims.Issuer, f.TenantID},
				{"sub", claims.Subject, "node-a"},
				{"contract", claims.Contract, f.ContractID},
				{"customer", claims.Customer, f.CustomerID},
				{"exp (capped at contract end)", claims.Expiry, now.Add(10 * 24 * time.Hour).Unix()},
				{"refresh_after", claims.RefreshAfter, int64(2 * 3600)},
				{"solver", claims.Count("solver"), int64(50)},
				{"reporting", claims.Allowed("reporting"), true},
				{"unknown feature", claims.Allowed("nope"), false},
				{"kind", claims.Kind, licensor.LicenseKindLive},
				{"response expiry matches claims", lic.ExpiresAt.AsTime().Unix(), claims.Expiry},
				{"jti matches", lic.LicenseId, claims.ID},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}

			adm := s.Admin(p, f.AdminToken)
			if _, err := adm.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{ContractId: f.ContractID, ExtendBy: durationpb.New(30 * 24 * time.Hour)})); err != nil {
				t.Fatalf("ExtendContract: %v", err)
			}
			lic2, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if err != nil {
				t.Fatalf("GetLicense after extension: %v", err)
			}
			c2, err := license.Verify(lic2.Token, keys, license.VerifyOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c2.Expiry, now.Add(14*24*time.Hour).Unix(); got != want {
				t.Errorf("exp after extension: got %v, want %v (full 14 days)", time.Unix(got, 0), time.Unix(want, 0))
			}
			if c2.ContractVersion <= claims.ContractVersion {
				t.Errorf("contract version: got %d, want > %d", c2.ContractVersion, claims.ContractVersion)
			}

			// The same instance refreshing holds one seat, not two.
			ins, err := adm.ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{ContractId: f.ContractID}))
			if err != nil {
				t.Fatal(err)
			}
			if len(ins.Msg.Instances) != 1 || !ins.Msg.Instances[0].Seat {
				t.Errorf("instances: got %v, want one instance holding a seat", ins.Msg.Instances)
			}
			gc, err := adm.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: f.ContractID}))
			if err != nil {
				t.Fatal(err)
			}
			if gc.Msg.Contract.SeatsUsed != 1 {
				t.Errorf("seats used: got %d, want 1", gc.Msg.Contract.SeatsUsed)
			}
		})
	}
}

// TestWatchLicense: an open stream gets a fresh license as soon as the
// contract changes.
func TestWatchLicense(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 10 * 24 * time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stream, err := s.License(p, f.ContractToken).WatchLicense(ctx, connect.NewRequest(&v1.WatchLicenseRequest{ContractId: f.ContractID, InstanceId: "watcher"}))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			if !stream.Receive() {
				t.Fatalf("first license: %v", stream.Err())
			}
			first := stream.Msg().License
			changed := time.Now()
			adm := s.Admin(p, f.AdminToken)
			if _, err := adm.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{ContractId: f.ContractID, ExtendBy: durationpb.New(30 * 24 * time.Hour)})); err != nil {
				t.Fatal(err)
			}
			if !stream.Receive() {
				t.Fatalf("license after extension: %v", stream.Err())
			}
			second := stream.Msg().License
			t.Logf("pushed %v after the change", time.Since(changed))
			if !second.ExpiresAt.AsTime().After(first.ExpiresAt.AsTime()) {
				t.Errorf("pushed expiry: got %v, want after %v", second.ExpiresAt.AsTime(), first.ExpiresAt.AsTime())
			}
			// A new feature shows up in the very next push too.
			if _, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{ContractId: f.ContractID, SetFeatures: true,
				Features: []*v1.Entitlement{{Feature: "solver", Count: 80}}})); err != nil {
				t.Fatal(err)
			}
			if !stream.Receive() {
				t.Fatalf("license after change: %v", stream.Err())
			}
			c, err := license.Verify(stream.Msg().License.Token, fetchJWKS(t, s, f.TenantID), license.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Count("solver") != 80 || c.Allowed("reporting") {
				t.Errorf("features after change: got %v, want solver=80 only", c.Features)
			}
		})
	}
}

// TestExpiryWithFakeClock moves the clock 15 days: a license held from
// before has expired, and an ended contract gets no new one.
func TestExpiryWithFakeClock(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 30 * 24 * time.Hour})
	lic, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "a")
	if err != nil {
		t.Fatal(err)
	}
	keys := fetchJWKS(t, s, f.TenantID)
	s.Clock.Advance(13 * 24 * time.Hour)
	if _, err := license.Verify(lic.Token, keys, license.VerifyOptions{Now: s.Clock.Now()}); err != nil {
		t.Errorf("at day 13: got %v, want valid", err)
	}
	s.Clock.Advance(2 * 24 * time.Hour)
	if _, err := license.Verify(lic.Token, keys, license.VerifyOptions{Now: s.Clock.Now()}); err == nil {
		t.Errorf("at day 15: got valid, want expired")
	}
	// A refresh now gets a license valid from now.
	lic2, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := license.Verify(lic2.Token, keys, license.VerifyOptions{Now: s.Clock.Now()}); err != nil {
		t.Errorf("refreshed at day 15: %v", err)
	}
	// Past the contract's end: refused.
	s.Clock.Advance(16 * 24 * time.Hour)
	_, err = getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "a")
	if got := connect.CodeOf(err); got != connect.CodePermissionDenied {
		t.Errorf("after contract end: got %v (%v), want permission_denied", got, err)
	}
}

// TestSeatLimit: a new instance beyond the seats is refused; an existing one
// keeps refreshing; a released seat can be taken again.
func TestSeatLimit(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 2})
	for _, id := range []string{"a", "b"} {
		if _, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, id); err != nil {
			t.Fatalf("instance %s: %v", id, err)
		}
	}
	_, err := getLicense(ctx, t, s, testserver.Connect, f.ContractToken, f.ContractID, "c")
	if got := connect.CodeOf(err); got != connect.CodeResourceExhausted {
		t.Fatalf("third instance: got %v (%v), want resource_exhausted", got, err)
	}
	if _, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "a"); err != nil {
		t.Errorf("existing instance refresh: got %v, want a license", err)
	}
	adm := s.Admin(testserver.GRPC, f.AdminToken)
	if _, err := adm.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{ContractId: f.ContractID, InstanceId: "b"})); err != nil {
		t.Fatal(err)
	}
	if _, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "c"); err != nil {
		t.Errorf("after release: got %v, want a license for c", err)
	}
}
