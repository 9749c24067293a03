package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// TestPerpetualFallback: after a perpetual contract ends, GetLicense still
// answers with a fallback license whose cutoff is the contract's end: a
// release dated before the end is permitted, one after it is not.
func TestPerpetualFallback(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 10 * 24 * time.Hour, Fallback: string(licensor.FallbackPerpetual)})
			end := f.Contract.EndsAt.AsTime()
			keys := fetchJWKS(t, s, f.TenantID)

			lic, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if err != nil {
				t.Fatal(err)
			}
			c := verifyAt(t, s, lic, keys)
			if lic.Fallback || c.IsFallback() || !c.Permits(end.Add(365*24*time.Hour)) {
				t.Errorf("before the end: got fallback=%v, want a full license permitting any release", lic.Fallback)
			}

			s.Clock.Set(end.Add(24 * time.Hour))
			lic, err = getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if err != nil {
				t.Fatalf("after the end: got %v, want a fallback license", err)
			}
			if !lic.Fallback || lic.FallbackCutoff == nil || !lic.FallbackCutoff.AsTime().Equal(end) {
				t.Fatalf("response: got fallback=%v cutoff=%v, want fallback=true cutoff=%v", lic.Fallback, lic.FallbackCutoff, end)
			}
			c = verifyAt(t, s, lic, keys)
			if c.FallbackCutoff != end.Unix() || c.FallbackRule != licensor.FallbackPerpetual {
				t.Errorf("claims: got fallback_cutoff=%d rule=%s, want %d perpetual", c.FallbackCutoff, c.FallbackRule, end.Unix())
			}
			for _, r := range []struct {
				name    string
				release time.Time
				want    bool
			}{
				{"ReleasedBeforeTheEnd", end.Add(-30 * 24 * time.Hour), true},
				{"ReleasedAtTheEnd", end, true},
				{"ReleasedAfterTheEnd", end.Add(time.Second), false},
				{"ReleasedLater", end.Add(90 * 24 * time.Hour), false},
			} {
				if got := c.Permits(r.release); got != r.want {
					t.Errorf("%s: Permits(%v): got %v, want %v", r.name, r.release, got, r.want)
				}
			}
			// A year on, the fallback still answers and the cutoff does not move.
			s.Clock.Advance(365 * 24 * time.Hour)
			lic, err = getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if err != nil || !lic.FallbackCutoff.AsTime().Equal(end) {
				t.Errorf("a year later: got %v, %v, want a fallback license with cutoff %v", lic, err, end)
			}
		})
	}
}

// TestFallbackOnEndedContract: ending a perpetual contract early makes the
// moment it ended the cutoff.
func TestFallbackOnEndedContract(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 300 * 24 * time.Hour, Fallback: string(licensor.FallbackPerpetual)})
			s.Clock.Advance(20 * 24 * time.Hour)
			ended := s.Clock.Now()
			if _, err := s.Admin(p, f.AdminToken).EndContract(ctx, connect.NewRequest(&v1.EndContractRequest{ContractId: f.ContractID})); err != nil {
				t.Fatal(err)
			}
			s.Clock.Advance(time.Hour)
			lic, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if err != nil {
				t.Fatalf("after EndContract: got %v, want a fallback license", err)
			}
			if !lic.Fallback || !lic.FallbackCutoff.AsTime().Equal(ended) {
				t.Errorf("got fallback=%v cutoff=%v, want fallback=true cutoff=%v", lic.Fallback, lic.FallbackCutoff.AsTime(), ended)
			}
			c := verifyAt(t, s, lic, fetchJWKS(t, s, f.TenantID))
			if !c.Permits(ended.Add(-time.Hour)) || c.Permits(ended.Add(time.Hour)) {
				t.Errorf("Permits: got before=%v after=%v, want true, false", c.Permits(ended.Add(-time.Hour)), c.Permits(ended.Add(time.Hour)))
			}
		})
	}
}

// TestNoFallbackRefused: without the perpetual flag an ended contract gets
// no license at all.
func TestNoFallbackRefused(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 10 * 24 * time.Hour})
			if _, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a"); err != nil {
				t.Fatal(err)
			}
			s.Clock.Advance(11 * 24 * time.Hour)
			_, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "node-a")
			if got := connect.CodeOf(err); got != connect.CodePermissionDenied {
				t.Errorf("after the end: got %v (%v), want permission_denied", got, err)
			}
		})
	}
}
