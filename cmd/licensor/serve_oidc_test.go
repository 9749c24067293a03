package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeOIDCFlags(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "map.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"acme-staff": "ten_1", "ops": "operator"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`["ten_1"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("Off", func(t *testing.T) {
		if o, err := (&ServeCmd{}).oidc(); o != nil || err != nil {
			t.Fatalf("got %v, %v; want nil, nil", o, err)
		}
	})
	t.Run("Map", func(t *testing.T) {
		o, err := (&ServeCmd{OIDCIssuer: "https://idp.example", OIDCClientID: "c", OIDCTenantClaim: "org", OIDCTenantMap: good}).oidc()
		if err != nil {
			t.Fatal(err)
		}
		if o.TenantClaim != "org" || o.Tenants["acme-staff"] != "ten_1" || o.Tenants["ops"] != "operator" {
			t.Fatalf("got %+v", o)
		}
	})
	for _, tc := range []struct {
		name string
		cmd  ServeCmd
		want string
	}{
		{"NoClientID", ServeCmd{OIDCIssuer: "https://idp.example"}, "--oidc-client-id"},
		{"MissingMap", ServeCmd{OIDCIssuer: "https://idp.example", OIDCClientID: "c", OIDCTenantMap: filepath.Join(dir, "nope.json")}, "--oidc-tenant-map"},
		{"BadMap", ServeCmd{OIDCIssuer: "https://idp.example", OIDCClientID: "c", OIDCTenantMap: bad}, "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cmd.oidc(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
