package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
