package main

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor"
)

// TestOfflineCommands runs the file exchange with the CLI against the whole
// server: request on the machine, respond, return, accept-return; the
// agent's --offline-request; a forced release and show.
func TestOfflineCommands(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	d, err := readDemoFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(p("machine-id"), []byte("0123456789abcdef0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := demoClient(t, d).Get(d.Server + licensor.JWKSPath + "?tenant=" + d.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := os.WriteFile(p("jwks.json"), jwks, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := runCLI(t, "offline", "request", "--contract", d.ContractID, "--product", d.ProductID, "--instance", "air-1",
		"--tenant", d.TenantID, "--key", p("air-1.key"), "--machine-id-file", p("machine-id"), "-O", p("air-1.req")); err != nil {
		t.Fatalf("offline request: %v", err)
	}
	if fi, err := os.Stat(p("air-1.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("instance key: got %v, %v; want mode 0600", fi, err)
	}
	if _, err := runCLI(t, "--demo-file", demo, "offline", "respond", p("air-1.req"), "-O", p("air-1.lic")); err != nil {
		t.Fatalf("offline respond: %v", err)
	}
	_, err = runCLI(t, "--demo-file", demo, "offline", "respond", p("air-1.req"))
	if err == nil || !strings.Contains(err.Error(), "ALREADY_EXISTS") {
		t.Errorf("offline respond of the same request again: got %v, want ALREADY_EXISTS", err)
	}
	if _, err := runCLI(t, "license", "verify", p("air-1.lic"), "--jwks", p("jwks.json"), "--instance", "air-1"); err != nil {
		t.Errorf("license verify of the bound license: %v", err)
	}
	if _, err := runCLI(t, "offline", "return", "--license", p("air-1.lic"), "--key", p("air-1.key"), "--keys", p("jwks.json"),
		"--machine-id-file", p("machine-id"), "-O", p("air-1.ret")); err != nil {
		t.Fatalf("offline return: %v", err)
	}
	for _, gone := range []string{"air-1.lic", "air-1.key"} {
		if _, err := os.Stat(p(gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the return: got %v, want deleted", gone, err)
		}
	}
	out, err := runCLI(t, "--demo-file", demo, "-o", "json", "offline", "accept-return", p("air-1.ret"))
	if err != nil {
		t.Fatalf("offline accept-return: %v", err)
	}
	var got struct {
		Activation struct {
			LicenseID string `json:"license_id"`
			Release   string `json:"release"`
		} `json:"activation"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Activation.Release != licensor.OfflineReleaseReturned {
		t.Errorf("accept-return: got %s, %v; want release returned", out, err)
	}

	// The agent makes the machine's request; a forced release frees it.
	if _, err := runCLI(t, "agent", "--offline-request", p("air-2.req"), "--contract", d.ContractID, "--instance", "air-2",
		"--product", d.ProductID, "--instance-key", p("air-2.key"), "--machine-id-file", p("machine-id")); err != nil {
		t.Fatalf("agent --offline-request: %v", err)
	}
	out, err = runCLI(t, "--demo-file", demo, "-o", "json", "offline", "respond", p("air-2.req"))
	if err != nil || !strings.Contains(out, "BEGIN LICENSOR LICENSE") {
		t.Fatalf("offline respond to the agent's request: got %.80q, %v", out, err)
	}
	token := out[strings.Index(out, "-----BEGIN"):]
	_ = os.WriteFile(p("air-2.lic"), []byte(token), 0o600)
	claims := verifyClaims(t, p("air-2.lic"), p("jwks.json"))
	_, err = runCLI(t, "--demo-file", demo, "offline", "release", "--license-id", claims.ID, "--reason", "")
	if err == nil {
		t.Error("offline release with an empty reason: got nil error")
	}
	if _, err := runCLI(t, "--demo-file", demo, "offline", "release", "--license-id", claims.ID, "--reason", "machine lost"); err != nil {
		t.Fatalf("offline release: %v", err)
	}
	out, err = runCLI(t, "--demo-file", demo, "offline", "show", claims.ID)
	if err != nil || !strings.Contains(out, "forced") || !strings.Contains(out, "air-2") {
		t.Errorf("offline show: got %q, %v; want air-2 released forced", out, err)
	}

	// The contract option that refuses clones.
	for _, v := range []string{"--refuse-clones", "--refuse-clones=false"} {
		out, err = runCLI(t, "--demo-file", demo, "-o", "json", "admin", "contract", "change", d.ContractID, v)
		if err != nil {
			t.Fatalf("contract change %s: %v", v, err)
		}
		if on := strings.Contains(out, `"refuse_clones": true`); on != (v == "--refuse-clones") {
			t.Errorf("contract change %s: got %s", v, out)
		}
	}
}

func verifyClaims(t *testing.T, file, jwks string) *licensor.Claims {
	t.Helper()
	out, err := runCLI(t, "-o", "json", "license", "verify", file, "--jwks", jwks)
	if err != nil {
		t.Fatalf("license verify: %v", err)
	}
	var c licensor.Claims
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("license verify output: %v", err)
	}
	if !c.Bound() || c.Fingerprint == "" {
		t.Errorf("license is not bound: %s", out)
	}
	return &c
}
