package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTenantCeilingCommands: the demo tenant's admin cannot raise its
// concurrency limit past the ceiling nor set a ceiling (PERMISSION_DENIED,
// naming the ceiling); the operator raises the ceilings with
// --concurrency-ceiling and --queue-wait-ceiling, after which the admin may
// go up to them.
func TestTenantCeilingCommands(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	raw, err := os.ReadFile(filepath.Join(m.Config.Data, "operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	operator := strings.TrimSpace(string(raw))
	admin := func(args ...string) (string, error) {
		return runCLI(t, append([]string{"admin", "--demo-file", demo}, args...)...)
	}
	out, err := admin("tenant", "get")
	if err != nil {
		t.Fatal(err)
	}
	tenantID := regexp.MustCompile(`ten_[0-9a-z]+`).FindString(out)
	if tenantID == "" || !strings.Contains(out, "60 of 60") {
		t.Fatalf("tenant get: got %q, want the tenant with its limit 60 of 60", out)
	}

	for _, args := range [][]string{
		{"tenant", "update", "--concurrency-limit", "100"},
		{"tenant", "update", "--concurrency-ceiling", "100"},
		{"tenant", "update", "--queue-wait", "3s"},
	} {
		_, err := admin(args...)
		if err == nil || !strings.HasPrefix(err.Error(), "PERMISSION_DENIED:") || !strings.Contains(err.Error(), "operator") {
			t.Errorf("%s as the tenant admin: got %v, want PERMISSION_DENIED naming the operator", strings.Join(args, " "), err)
		}
	}

	out, err = runCLI(t, "admin", "--demo-file", demo, "--token", operator, "tenant", "update", "--tenant", tenantID,
		"--concurrency-ceiling", "200", "--queue-wait-ceiling", "3s")
	if err != nil || !strings.Contains(out, "60 of 200") || !strings.Contains(out, "of 3s") {
		t.Fatalf("tenant update --concurrency-ceiling as the operator: got %q, %v; want 60 of 200 and a wait ceiling of 3s", out, err)
	}
	out, err = admin("tenant", "update", "--concurrency-limit", "150", "--queue-wait", "3s")
	if err != nil || !strings.Contains(out, "150 of 200") || !strings.Contains(out, "3s of 3s") {
		t.Errorf("tenant update under the raised ceilings: got %q, %v; want 150 of 200 and 3s of 3s", out, err)
	}
}
