package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminKeyRotate: `key rotate` stages the next key 14 days out by
// default, refuses a sooner activation without --force, and `key list`
// shows when each key signs.
func TestAdminKeyRotate(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	admin := func(args ...string) (string, error) {
		return runCLI(t, append([]string{"admin", "--demo-file", demo, "key"}, args...)...)
	}
	if _, err := admin("rotate", "--activate-after", "1d"); err == nil || !strings.Contains(err.Error(), "force") {
		t.Fatalf("rotate --activate-after 1d: got %v, want a refusal naming --force", err)
	}
	out, err := admin("rotate")
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if !strings.Contains(out, "SIGNS FROM") || !strings.Contains(out, "false") {
		t.Errorf("rotate printed %q, want the staged key, not active", out)
	}
	out, err = admin("list")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "false") || !strings.Contains(lines[2], "true") {
		t.Errorf("list printed %q, want the staged key (inactive) above the active one", out)
	}
	if _, err := admin("rotate", "--activate-after", "0", "--force"); err != nil {
		t.Errorf("rotate --activate-after 0 --force: %v", err)
	}
}
