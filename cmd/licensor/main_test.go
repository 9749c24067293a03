package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/license"
)

// startMain runs the whole binary's server in-process on 127.0.0.1:0.
func startMain(t *testing.T, demo bool) *Main {
	t.Helper()
	var out bytes.Buffer
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), Demo: demo}, Out: &out}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func demoClient(t *testing.T, d *DemoFile) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(d.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
}

// TestServeDemo: serve --demo writes a demo.json with which an instance
// fetches a license, the operator token file is 0600, and a restart reuses
// the demo.
func TestServeDemo(t *testing.T) {
	m := startMain(t, true)
	raw, err := os.ReadFile(filepath.Join(m.Config.Data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"server", "ca_cert", "tenant_id", "contract_id", "token", "admin_token"} {
		if !bytes.Contains(raw, []byte(`"`+key+`"`)) {
			t.Errorf("demo.json lacks %q: %s", key, raw)
		}
	}
	fi, err := os.Stat(filepath.Join(m.Config.Data, "operator-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("operator-token: got %v %v, want mode 0600", fi.Mode(), err)
	}
	d := m.Demo
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(),
		connect.WithInterceptors(bearer.Token(d.Token)))
	res, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: "demo-1"}))
	if err != nil {
		t.Fatalf("GetLicense with the demo: %v", err)
	}
	if res.Msg.License.Token == "" {
		t.Fatal("empty license")
	}
	data, tenant := m.Config.Data, d.TenantID
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: data, Demo: true}, Out: &bytes.Buffer{}}
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m2.Demo.TenantID != tenant {
		t.Errorf("restart: got tenant %s, want the same demo tenant %s", m2.Demo.TenantID, tenant)
	}
}

// TestGracefulShutdown: Close ends an open WatchLicense stream cleanly and
// returns well before its deadline.
func TestGracefulShutdown(t *testing.T) {
	m := startMain(t, true)
	d := m.Demo
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(), connect.WithInterceptors(bearer.Token(d.Token)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := lc.WatchLicense(ctx, connect.NewRequest(&v1.WatchLicenseRequest{ContractId: d.ContractID, InstanceId: "w"}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("first license: %v", stream.Err())
	}
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	if stream.Receive() {
		t.Errorf("stream sent another message during shutdown")
	}
	if err := stream.Err(); err != nil {
		t.Errorf("stream end: got %v, want a clean end", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestLicenseVerifyCommand: the offline verifier accepts a genuine file and
// refuses tampered, truncated, foreign-signed and expired ones with
// distinct exit codes.
func TestLicenseVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	mk, _ := signing.LoadOrCreateMasterKey(dir)
	sealer, _ := signing.NewSealer(mk)
	key, priv, err := signing.NewSigningKey(sealer, "ten_x", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := signing.NewSigner(key.ID, priv)
	now := time.Now()
	claims := func(exp time.Time) *licensor.Claims {
		return &licensor.Claims{Issuer: "ten_x", Subject: "i1", ID: "lic_1", IssuedAt: now.Add(-time.Hour).Unix(), NotBefore: now.Add(-time.Hour).Unix(),
			Expiry: exp.Unix(), Contract: "con_1", Customer: "cus_1", Features: map[string]any{"solver": 3}, RefreshAfter: 7200, FallbackRule: "none", Kind: "static"}
	}
	good, _ := signer.SignLicense(claims(now.Add(24 * time.Hour)))
	expired, _ := signer.SignLicense(claims(now.Add(-time.Minute * 10)))
	_, foreignPriv, _ := ed25519.GenerateKey(rand.Reader)
	foreignSigner, _ := signing.NewSigner(key.ID, foreignPriv)
	foreign, _ := foreignSigner.SignLicense(claims(now.Add(24 * time.Hour)))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.Replace(parts[1], parts[1][10:14], "AAAA", 1) + "." + parts[2]
	armored := string(license.Armor(good))
	jwks, _ := license.MarshalJWKS([]*licensor.SigningKey{key})
	jwksFile := filepath.Join(dir, "jwks.json")
	_ = os.WriteFile(jwksFile, jwks, 0o644)

	cases := []struct {
		name, content string
		want          int
	}{
		{"Genuine", armored, ExitOK},
		{"BareJWS", good, ExitOK},
		{"Tampered", string(license.Armor(tampered)), ExitInvalid},
		{"Truncated", armored[:len(armored)/2], ExitInvalid},
		{"ForeignSigned", string(license.Armor(foreign)), ExitInvalid},
		{"Expired", string(license.Armor(expired)), ExitExpired},
		{"Garbage", "hello", ExitInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(dir, c.name+".lic")
			_ = os.WriteFile(f, []byte(c.content), 0o644)
			var buf bytes.Buffer
			stdout = &buf
			defer func() { stdout = os.Stdout }()
			err := (&LicenseVerifyCmd{File: f, JWKS: jwksFile}).Run(&Globals{Output: "table"})
			got := ExitOK
			var ee exitError
			if errors.As(err, &ee) {
				got = ee.code
			} else if err != nil {
				got = ExitError
			}
			if got != c.want {
				t.Errorf("exit: got %d (%v), want %d", got, err, c.want)
			}
			if c.want == ExitOK && !strings.Contains(buf.String(), "VALID license lic_1") {
				t.Errorf("output: got %q, want it to name the license", buf.String())
			}
		})
	}
}
