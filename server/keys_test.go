package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// TestKeyRotation: after a rotation new licenses carry the new kid, the old
// public key stays in the JWKS, and a license signed before still verifies.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	old, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "a")
	if err != nil {
		t.Fatal(err)
	}
	adm := s.Admin(testserver.GRPC, f.AdminToken)
	rot, err := adm.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{ActivateAfter: durationpb.New(0), Force: true}))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := getLicense(ctx, t, s, testserver.GRPC, f.ContractToken, f.ContractID, "a")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.KeyId != rot.Msg.Key.Id || fresh.KeyId == old.KeyId {
		t.Errorf("kid after rotation: got %s, want %s (old %s)", fresh.KeyId, rot.Msg.Key.Id, old.KeyId)
	}
	keys := fetchJWKS(t, s, f.TenantID)
	if len(keys) != 2 {
		t.Errorf("JWKS after rotation: got %d keys, want 2", len(keys))
	}
	for name, tok := range map[string]string{"old": old.Token, "fresh": fresh.Token} {
		if _, err := license.Verify(tok, keys, license.VerifyOptions{Now: s.Clock.Now()}); err != nil {
			t.Errorf("%s license: %v", name, err)
		}
	}
	// Once every license the old key signed has expired, it leaves the JWKS.
	s.Clock.Advance(15 * 24 * time.Hour)
	if keys := fetchJWKS(t, s, f.TenantID); len(keys) != 1 || keys[fresh.KeyId] == nil {
		t.Errorf("JWKS 15 days later: got %d keys, want only %s", len(keys), fresh.KeyId)
	}
	ks, err := adm.ListSigningKeys(ctx, connect.NewRequest(&v1.ListSigningKeysRequest{}))
	if err != nil || len(ks.Msg.Keys) != 2 || !ks.Msg.Keys[0].Active || ks.Msg.Keys[1].Active {
		t.Errorf("ListSigningKeys: got %v %v, want newest active first, then the retired one", ks, err)
	}
}

// TestLicenseFile: a static file issued through the API verifies offline
// and keeps its key published for its whole validity.
func TestLicenseFile(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 400 * 24 * time.Hour})
	adm := s.Admin(testserver.Connect, f.AdminToken)
	res, err := adm.IssueLicenseFile(ctx, connect.NewRequest(&v1.IssueLicenseFileRequest{ContractId: f.ContractID, InstanceId: "offline-1"}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := license.Dearmor([]byte(res.Msg.LicenseFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{ActivateAfter: durationpb.New(0), Force: true})); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(300 * 24 * time.Hour)
	claims, err := license.Verify(tok, fetchJWKS(t, s, f.TenantID), license.VerifyOptions{Now: s.Clock.Now()})
	if err != nil {
		t.Fatalf("file after 300 days and a rotation: %v", err)
	}
	if claims.Kind != "static" || claims.Subject != "offline-1" {
		t.Errorf("claims: got kind %q sub %q, want static offline-1", claims.Kind, claims.Subject)
	}
}

// TestMutualTLS: a contract that requires a client certificate refuses an
// instance without one, or with one from another CA.
func TestMutualTLS(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	caCert, caKey := newCA(t, "vendor CA")
	otherCA, otherKey := newCA(t, "other CA")
	f := s.NewFixture(t, testserver.FixtureOptions{ClientCA: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}))})
	good := clientCert(t, caCert, caKey)
	bad := clientCert(t, otherCA, otherKey)
	cases := []struct {
		name  string
		certs []tls.Certificate
		want  connect.Code
	}{
		{"NoCertificate", nil, connect.CodePermissionDenied},
		{"OtherCA", []tls.Certificate{bad}, connect.CodePermissionDenied},
		{"VendorCA", []tls.Certificate{good}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.License(testserver.GRPC, f.ContractToken, c.certs...).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "m1"}))
			if got := connect.CodeOf(err); err != nil && got != c.want || err == nil && c.want != 0 {
				t.Errorf("got %v (%v), want %v", got, err, c.want)
			}
		})
	}
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func clientCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "instance"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestReflectionAndHealth: grpcurl-style discovery and the gRPC health
// service answer on the same port.
func TestReflectionAndHealth(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	rc := grpcreflect.NewClient(s.HTTPClient(), s.URL)
	anon := rc.NewStream(ctx)
	if _, err := anon.ListServices(); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("reflection without a token: got %v, want unauthenticated", err)
	}
	_, _ = anon.Close()
	stream := rc.NewStream(ctx, grpcreflect.WithRequestHeaders(http.Header{"Authorization": {"Bearer " + s.OperatorToken}}))
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"licensor.v1.LicenseService": false, "licensor.v1.AdminService": false, "licensor.v1.CapabilityService": false}
	for _, n := range names {
		if _, ok := want[string(n)]; ok {
			want[string(n)] = true
		}
	}
	for n, seen := range want {
		if !seen {
			t.Errorf("reflection: %s not listed in %v", n, names)
		}
	}
	for _, svc := range []string{"", "licensor.v1.LicenseService"} {
		res, err := grpcHealthCheck(ctx, s, svc)
		if err != nil || res != "SERVING_STATUS_SERVING" {
			t.Errorf("health %q: got %v %v, want SERVING_STATUS_SERVING", svc, res, err)
		}
	}
}

// grpcHealthCheck calls grpc.health.v1.Health/Check with the Connect
// protocol (JSON), which the health handler speaks like every service.
func grpcHealthCheck(ctx context.Context, s *testserver.Server, service string) (string, error) {
	body, _ := json.Marshal(map[string]string{"service": service})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/grpc.health.v1.Health/Check", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	res, err := s.HTTPClient().Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct{ Status string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return "", err
	}
	return out.Status, nil
}
