package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOperatorTokenCommands: an operator rotates its token with the CLI
// (create another, revoke the bootstrap one, which stops working), cannot
// revoke the last one, and finds both changes in its own audit log; a
// tenant admin cannot create an operator token or see one.
func TestOperatorTokenCommands(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	raw, err := os.ReadFile(filepath.Join(m.Config.Data, "operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := strings.TrimSpace(string(raw))
	as := func(token string, args ...string) (string, error) {
		t.Helper()
		return runCLI(t, append([]string{"admin", "--demo-file", demo, "--token", token}, args...)...)
	}
	ok := func(token string, args ...string) string {
		t.Helper()
		out, err := as(token, args...)
		if err != nil {
			t.Fatalf("%s: got error %v, want none", strings.Join(args, " "), err)
		}
		return out
	}
	tokID := regexp.MustCompile(`tok_[0-9a-z]+`)
	rowOf := func(out, name string) string {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, name) {
				return line
			}
		}
		t.Fatalf("got %q, want a line naming %q", out, name)
		return ""
	}

	oldID := tokID.FindString(rowOf(ok(bootstrap, "token", "list"), "bootstrap operator"))
	out := ok(bootstrap, "token", "create", "--role", "operator", "--name", "rotated")
	newID := tokID.FindString(rowOf(out, "rotated"))
	secret := regexp.MustCompile(`(?m)^lsr_op_\S+$`).FindString(out)
	if newID == "" || secret == "" || !strings.Contains(out, "shown once") {
		t.Fatalf("token create --role operator: got %q, want the token and its lsr_op_ secret, shown once", out)
	}
	if list := ok(secret, "token", "list"); !strings.Contains(list, oldID) || !strings.Contains(list, newID) || strings.Contains(list, secret) {
		t.Errorf("token list: got %q, want %s and %s and no secret", list, oldID, newID)
	}

	if out := ok(secret, "token", "revoke", oldID); !regexp.MustCompile(oldID + `\s+operator\s.*\d{4}-\d\d-\d\dT\S+Z\s*$`).MatchString(strings.TrimSpace(out)) {
		t.Errorf("token revoke: got %q, want %s shown with its revocation time", out, oldID)
	}
	if _, err := as(bootstrap, "token", "list"); err == nil || !strings.HasPrefix(err.Error(), "UNAUTHENTICATED:") {
		t.Errorf("token list with the revoked token: got %v, want UNAUTHENTICATED", err)
	}
	_, err = as(secret, "token", "revoke", newID)
	if err == nil || !strings.HasPrefix(err.Error(), "FAILED_PRECONDITION:") || !strings.Contains(err.Error(), "create another operator token first") {
		t.Errorf("token revoke of the last: got %v, want FAILED_PRECONDITION saying to create another first", err)
	}
	if list := ok(secret, "token", "list", "--revoked"); !strings.Contains(list, oldID) {
		t.Errorf("token list --revoked: got %q, want %s", list, oldID)
	}
	audit := ok(secret, "audit", "list")
	if !strings.Contains(audit, "token.create") || !strings.Contains(audit, "token/"+oldID) {
		t.Errorf("audit list of the operator: got %q, want the create and the revocation of %s", audit, oldID)
	}

	// The demo's tenant admin (--demo-file's token).
	if _, err := runCLI(t, "admin", "--demo-file", demo, "token", "create", "--role", "operator"); err == nil || !strings.HasPrefix(err.Error(), "PERMISSION_DENIED:") {
		t.Errorf("token create --role operator as a tenant admin: got %v, want PERMISSION_DENIED", err)
	}
	if _, err := runCLI(t, "admin", "--demo-file", demo, "token", "revoke", newID); err == nil || !strings.HasPrefix(err.Error(), "NOT_FOUND:") {
		t.Errorf("token revoke of an operator token as a tenant admin: got %v, want NOT_FOUND", err)
	}
	list, err := runCLI(t, "admin", "--demo-file", demo, "token", "list", "--revoked")
	if err != nil || strings.Contains(list, "operator") {
		t.Errorf("token list as a tenant admin: got %q, %v; want no operator token", list, err)
	}
}
