package client_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNoServerCode: a program that embeds the client links no
// part of the server: not the signing keys, the master key or the signer
// (internal/signing), nor the service, the API handlers, the stores or
// the assembly. The client verifies with package license only.
func TestClientLinksNoServerCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	const mod = "github.com/licensor/licensor/"
	forbidden := []string{"internal/signing", "internal/app", "service", "server", "store", "notify", "metrics", "ratelimit"}
	for _, tc := range []struct{ name, pkg string }{{"client", "."}, {"clientmetrics", "./clientmetrics"}} {
		pkg := tc.pkg
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(goTool, "list", "-deps", "-json=ImportPath", pkg).Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("go list: %v\n%s", err, ee.Stderr)
				}
				t.Fatalf("go list: %v", err)
			}
			dec := json.NewDecoder(strings.NewReader(string(out)))
			n := 0
			for {
				var p struct{ ImportPath string }
				if err := dec.Decode(&p); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("go list output: %v", err)
				}
				n++
				rel, ours := strings.CutPrefix(p.ImportPath, mod)
				if !ours {
					continue
				}
				for _, f := range forbidden {
					if rel == f || strings.HasPrefix(rel, f+"/") {
						t.Errorf("%s links %s", pkg, p.ImportPath)
					}
				}
			}
			if n == 0 {
				t.Fatalf("go list listed no packages")
			}
		})
	}
}
