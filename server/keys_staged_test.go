package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// TestStagedKeyRotation: a rotation publishes the next key at once and
// signs with it only after activate_after (default 14 days); the old key
// signs until then, and its licenses keep verifying until they expire.
func TestStagedKeyRotation(t *testing.T) {
	const day = 24 * time.Hour
	for _, p := range []testserver.Protocol{testserver.GRPC, testserver.Connect} {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 365 * day})
			adm := s.Admin(p, f.AdminToken)
			before, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "a")
			if err != nil {
				t.Fatal(err)
			}
			rotatedAt := s.Clock.Now()
			rot, err := adm.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			k := rot.Msg.Key
			if k.Active || !k.ActivateAt.AsTime().Equal(rotatedAt.Add(14*day).Truncate(time.Microsecond)) {
				t.Fatalf("rotated key: got active %v, activate_at %s; want inactive until %s", k.Active, k.ActivateAt.AsTime(), rotatedAt.Add(14*day))
			}

			// Published at once, not signing yet.
			if keys := fetchJWKS(t, s, f.TenantID); len(keys) != 2 || keys[k.Id] == nil {
				t.Fatalf("JWKS right after the rotation: got %d keys, want 2 with %s", len(keys), k.Id)
			}
			s.Clock.Advance(13 * day)
			last, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "a")
			if err != nil {
				t.Fatal(err)
			}
			if last.KeyId != before.KeyId {
				t.Errorf("13 days after the rotation: signed by %s, want the old key %s", last.KeyId, before.KeyId)
			}

			// Activation: the clock alone switches the signer.
			s.Clock.Advance(day)
			after, err := getLicense(ctx, t, s, p, f.ContractToken, f.ContractID, "a")
			if err != nil {
				t.Fatal(err)
			}
			if after.KeyId != k.Id {
				t.Errorf("14 days after the rotation: signed by %s, want the new key %s", after.KeyId, k.Id)
			}
			ks, err := adm.ListSigningKeys(ctx, connect.NewRequest(&v1.ListSigningKeysRequest{}))
			if err != nil || len(ks.Msg.Keys) != 2 || !ks.Msg.Keys[0].Active || ks.Msg.Keys[1].Active {
				t.Errorf("ListSigningKeys after activation: got %v %v, want the new key active, the old one not", ks, err)
			}

			// The old key's last license verifies until it expires.
			s.Clock.Advance(13 * day)
			if _, err := license.Verify(last.Token, fetchJWKS(t, s, f.TenantID), license.VerifyOptions{Now: s.Clock.Now()}); err != nil {
				t.Errorf("the old key's last license, a day before it expires: %v", err)
			}
			s.Clock.Advance(2 * day)
			if keys := fetchJWKS(t, s, f.TenantID); len(keys) != 1 || keys[k.Id] == nil {
				t.Errorf("JWKS once the old key's licenses expired: got %d keys, want only %s", len(keys), k.Id)
			}
		})
	}
}

// TestKeyRotationTooSoon: a key that would sign before a license lifetime
// has passed since its publication needs force; the refusal says when it
// becomes safe and what to do.
func TestKeyRotationTooSoon(t *testing.T) {
	const day = 24 * time.Hour
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{Validity: 30 * day, EndsIn: 365 * day})
	for _, p := range []testserver.Protocol{testserver.GRPC, testserver.Connect} {
		adm := s.Admin(p, f.AdminToken)
		safe := s.Clock.Now().Add(30 * day).UTC().Format(time.RFC3339)
		for name, req := range map[string]*v1.RotateSigningKeyRequest{
			"Immediate": {ActivateAfter: durationpb.New(0)},
			// 14 days is the default, but this tenant's licenses last 30.
			"Default": {},
			"Day":     {ActivateAfter: durationpb.New(day)},
		} {
			_, err := adm.RotateSigningKey(ctx, connect.NewRequest(req))
			wantCode(t, string(p)+" "+name, err, connect.CodeFailedPrecondition, safe)
			if err != nil && !strings.Contains(err.Error(), "force") {
				t.Errorf("%s %s: message %q does not mention force", p, name, err)
			}
		}
		_, err := adm.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{ActivateAfter: durationpb.New(-time.Second)}))
		wantCode(t, string(p)+" negative", err, connect.CodeInvalidArgument, "activate_after")
		_, err = adm.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{ActivateAfter: durationpb.New(400 * day)}))
		wantCode(t, string(p)+" too far", err, connect.CodeInvalidArgument, "activate_after")
	}
	ks, err := s.Admin(testserver.GRPC, f.AdminToken).ListSigningKeys(ctx, connect.NewRequest(&v1.ListSigningKeysRequest{}))
	if err != nil || len(ks.Msg.Keys) != 1 {
		t.Fatalf("keys after refused rotations: got %v %v, want the one key", ks, err)
	}
	for name, req := range map[string]*v1.RotateSigningKeyRequest{
		"Forced":     {ActivateAfter: durationpb.New(day), Force: true},
		"LongEnough": {ActivateAfter: durationpb.New(30 * day)},
	} {
		if _, err := s.Admin(testserver.Connect, f.AdminToken).RotateSigningKey(ctx, connect.NewRequest(req)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
