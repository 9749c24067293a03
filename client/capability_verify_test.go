package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/signing"
)

// fakeCapabilityService grants every request with the lease and document
// doc makes, and counts returns.
type fakeCapabilityService struct {
	licensorv1connect.UnimplementedCapabilityServiceHandler
	doc     func(l *v1.Lease) string
	returns atomic.Int32
}

func (f *fakeCapabilityService) RequestCapabilities(_ context.Context, req *connect.Request[v1.RequestCapabilitiesRequest]) (*connect.Response[v1.RequestCapabilitiesResponse], error) {
	now := time.Now().Truncate(time.Second)
	l := &v1.Lease{Id: "lea_1", PoolId: "pool_1", ContractId: req.Msg.GetContractId(), InstanceId: req.Msg.GetInstanceId(),
		Units: req.Msg.GetCapabilities(), CreatedAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(time.Hour)), Borrowed: true}
	return connect.NewResponse(&v1.RequestCapabilitiesResponse{Granted: true, Lease: l, CapabilityToken: f.doc(l)}), nil
}

func (f *fakeCapabilityService) ReturnCapabilities(context.Context, *connect.Request[v1.ReturnCapabilitiesRequest]) (*connect.Response[v1.ReturnCapabilitiesResponse], error) {
	f.returns.Add(1)
	return connect.NewResponse(&v1.ReturnCapabilitiesResponse{}), nil
}

// TestCapabilityDocumentVerified: Checkout accepts a capability document
// only if it is signed by a key the client trusts and says what the lease
// says; a refused one is returned to the server at once.
func TestCapabilityDocumentVerified(t *testing.T) {
	vendor := testKeys(t)
	_, foreignPriv, _ := ed25519.GenerateKey(rand.Reader)
	foreign, err := signing.NewSigner("key-1", foreignPriv) // the vendor's kid, another key
	if err != nil {
		t.Fatal(err)
	}
	claims := func(l *v1.Lease) licensor.CapabilityClaims {
		units := map[string]int64{}
		for _, u := range l.GetUnits() {
			units[u.GetFeature()] = u.GetUnits()
		}
		return licensor.CapabilityClaims{Issuer: "ten_1", Subject: l.GetInstanceId(), ID: l.GetId(), IssuedAt: l.GetCreatedAt().GetSeconds(),
			NotBefore: l.GetCreatedAt().GetSeconds(), Expiry: l.GetExpiresAt().GetSeconds(), Contract: l.GetContractId(), Pool: l.GetPoolId(),
			Units: units, Borrowed: l.GetBorrowed()}
	}
	sign := func(s *signing.Signer, cc licensor.CapabilityClaims) string {
		tok, err := s.SignCapability(cc)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name    string
		doc     func(l *v1.Lease) string
		mention string // "" for a document that must be accepted
	}{
		{"OK", func(l *v1.Lease) string { return sign(vendor.signer, claims(l)) }, ""},
		{"ForeignKey", func(l *v1.Lease) string { return sign(foreign, claims(l)) }, "signature"},
		{"TamperedUnits", func(l *v1.Lease) string {
			tok := sign(vendor.signer, claims(l))
			parts := strings.Split(tok, ".")
			more := claims(l)
			more.Units["solver"] = 500
			forged := strings.Split(sign(vendor.signer, more), ".")[1]
			return parts[0] + "." + forged + "." + parts[2]
		}, "signature"},
		{"OtherInstance", func(l *v1.Lease) string {
			cc := claims(l)
			cc.Subject = "node-2"
			return sign(vendor.signer, cc)
		}, "instance"},
		{"MoreUnitsThanTheLease", func(l *v1.Lease) string {
			cc := claims(l)
			cc.Units["solver"] = 50
			return sign(vendor.signer, cc)
		}, "grants"},
		{"OtherLease", func(l *v1.Lease) string {
			cc := claims(l)
			cc.ID = "lea_2"
			return sign(vendor.signer, cc)
		}, "lease"},
		{"OtherVendor", func(l *v1.Lease) string {
			cc := claims(l)
			cc.Issuer = "ten_2"
			return sign(vendor.signer, cc)
		}, "vendor"},
		{"LicenseNotCapability", func(*v1.Lease) string { return vendor.sign(t, testClaims(time.Now())) }, "typ"},
		{"Garbage", func(*v1.Lease) string { return base64.RawURLEncoding.EncodeToString([]byte("x")) }, "capability document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeCapabilityService{doc: tc.doc}
			mux := http.NewServeMux()
			mux.Handle(licensorv1connect.NewCapabilityServiceHandler(fake))
			url, pool := fakeServer(t, mux)
			for _, p := range []Protocol{GRPC, Connect} {
				c := newClient(t, Config{Server: url, RootCAs: pool, ContractID: "con_1", InstanceID: "node-1", Token: "t",
					Keys: vendor.set, TenantID: "ten_1", Protocol: p})
				before := fake.returns.Load()
				l, err := c.Checkout(context.Background(), licensor.Units{Feature: "solver", Units: 3})
				if tc.mention == "" {
					if err != nil || l.Units()["solver"] != 3 {
						t.Fatalf("%s: Checkout: got %v, want the lease", p, err)
					}
					continue
				}
				if err == nil || StageOf(err) != StageVerify || licensor.ErrorCode(err) != licensor.EINVALID || !strings.Contains(err.Error(), tc.mention) {
					t.Fatalf("%s: Checkout: got %v, want a verify error mentioning %q", p, err, tc.mention)
				}
				if got := fake.returns.Load() - before; got != 1 {
					t.Errorf("%s: returns after a refused document: got %d, want 1", p, got)
				}
			}
		})
	}
}
