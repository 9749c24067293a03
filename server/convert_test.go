package server

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/service"
)

// issuedPB builds its message in one block; the message must be the one
// the plain constructors build, field for field.
func TestIssuedPB(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 123456789, time.UTC)
	claims := func(fallback int64) *licensor.Claims {
		return &licensor.Claims{ID: "lic_1", IssuedAt: now.Unix(), NotBefore: now.Unix() - 60, Expiry: now.Unix() + 86400,
			RefreshAfter: 3600, ContractVersion: 7, FallbackCutoff: fallback}
	}
	for _, c := range []struct {
		name string
		is   *service.Issued
	}{
		{"Live", &service.Issued{Token: "a.b.c", Claims: claims(0), KeyID: "key_1", ServerTime: now}},
		{"Fallback", &service.Issued{Token: "a.b.c", Claims: claims(now.Unix() + 7*86400), KeyID: "key_1", ServerTime: now}},
		{"NoServerTime", &service.Issued{Token: "a.b.c", Claims: claims(0), KeyID: "key_1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := c.is.Claims
			want := &v1.IssuedLicense{
				Token: c.is.Token, LicenseId: cl.ID, KeyId: c.is.KeyID,
				IssuedAt: timestamppb.New(cl.IssuedAtTime()), NotBefore: timestamppb.New(cl.NotBeforeTime()), ExpiresAt: timestamppb.New(cl.ExpiresAt()),
				RefreshAfter: durationpb.New(time.Duration(cl.RefreshAfter) * time.Second), ServerTime: ts(c.is.ServerTime),
				ContractVersion: cl.ContractVersion, Fallback: cl.IsFallback(),
			}
			if cl.IsFallback() {
				want.FallbackCutoff = timestamppb.New(time.Unix(cl.FallbackCutoff, 0))
			}
			if got := issuedPB(c.is); !proto.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
