package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// TestPortalLinkCommands: portal-link create prints the secret once,
// list shows the link without it, revoke ends it.
func TestPortalLinkCommands(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	raw, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		CustomerID string `json:"customer_id"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	admin := func(args ...string) (string, error) {
		return runCLI(t, append([]string{"admin", "--demo-file", demo}, args...)...)
	}
	out, err := admin("portal-link", "create", "--customer", d.CustomerID, "--name", "ops@acme", "--ttl", "48h")
	secret := regexp.MustCompile(`(?m)^lsr_prt_[0-9a-z]+$`).FindString(out) // the hint column shows its start
	id := regexp.MustCompile(`plk_[0-9a-z]+`).FindString(out)
	if err != nil || secret == "" || id == "" {
		t.Fatalf("portal-link create: got %q, %v; want a link and its secret", out, err)
	}
	out, err = admin("portal-link", "list", "--customer", d.CustomerID)
	if err != nil || !strings.Contains(out, id) || strings.Contains(out, secret) {
		t.Errorf("portal-link list: got %q, %v; want %s without its secret", out, err, id)
	}
	if _, err := admin("portal-link", "revoke", id); err != nil {
		t.Errorf("portal-link revoke: %v", err)
	}
	out, err = admin("portal-link", "list")
	if err != nil || strings.Contains(out, id) {
		t.Errorf("portal-link list after revoke: got %q, %v; want no %s", out, err, id)
	}
	if out, err := admin("portal-link", "list", "--all"); err != nil || !strings.Contains(out, id) {
		t.Errorf("portal-link list --all: got %q, %v; want %s", out, err, id)
	}
}

// TestConsoleCommands: instance search finds the instances that fetched a
// license by id prefix and version, and dashboard counts them.
func TestConsoleCommands(t *testing.T) {
	m := startMain(t, true)
	d := m.Demo
	demo := filepath.Join(m.Config.Data, "demo.json")
	admin := func(args ...string) (string, error) {
		return runCLI(t, append([]string{"admin", "--demo-file", demo}, args...)...)
	}
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(), connect.WithInterceptors(bearer.Token(d.Token)))
	for _, inst := range []string{"node-a", "web-b"} {
		_, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: inst,
			Telemetry: &v1.Telemetry{ProductVersion: "1.2.0"}}))
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := admin("instance", "search", "--prefix", "node-", "--version", "1.2.0")
	if err != nil || !strings.Contains(out, "node-a") || strings.Contains(out, "web-b") {
		t.Errorf("instance search --prefix node-: got %q, %v; want node-a only", out, err)
	}
	out, err = admin("instance", "search", "--prefix", "nothing-")
	if err != nil || strings.Contains(out, "nothing-") {
		t.Errorf("instance search with no match: got %q, %v", out, err)
	}
	out, err = admin("dashboard")
	if err != nil || !regexp.MustCompile(`active instances\s+2\n`).MatchString(out) || !strings.Contains(out, "open alerts") {
		t.Errorf("dashboard: got %q, %v", out, err)
	}
}
