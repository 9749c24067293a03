package doccheck

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/license"
)

const doc = "../../docs/other-languages.md"

// snippetRE finds a fenced block announced by <!-- snippet: NAME -->.
var snippetRE = regexp.MustCompile("(?s)<!-- snippet: ([A-Za-z0-9_.]+) -->\n```[a-z]*\n(.*?)\n```")

func snippets(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range snippetRE.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2] + "\n"
	}
	return out
}

// licenses signs a license valid now, one that has expired and one
// altered after signing, with a fresh key, and returns them with the JWKS
// that holds the key.
func licenses(t *testing.T) (jwks []byte, cases map[string]string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner("key_doc", priv)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(from time.Time) string {
		tok, err := s.SignLicense(&licensor.Claims{
			Issuer: "ten_doc", Subject: "inst-doc", ID: "lic_doc",
			IssuedAt: from.Unix(), NotBefore: from.Unix(), Expiry: from.Add(14 * 24 * time.Hour).Unix(),
			Contract: "con_doc", Customer: "cus_doc", RefreshAfter: 7200, Kind: "online",
			Features: map[string]any{"solver": 50, "reporting": true},
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	valid := sign(now)
	parts := strings.Split(valid, ".")
	other := strings.Split(sign(now.Add(time.Hour)), ".")
	jwks, err = license.MarshalJWKS([]*licensor.SigningKey{{ID: "key_doc", Public: pub}})
	if err != nil {
		t.Fatal(err)
	}
	return jwks, map[string]string{
		"valid":   valid,
		"expired": sign(now.Add(-30 * 24 * time.Hour)),
		// Another license's payload under this one's signature.
		"altered": parts[0] + "." + other[1] + "." + parts[2],
	}
}

func TestOtherLanguageSnippets(t *testing.T) {
	all := snippets(t)
	jwks, cases := licenses(t)
	for _, tc := range []struct {
		file  string
		tool  string
		args  []string
		probe []string // a command that must succeed for the snippet to run
		build []string // run once before the three cases
	}{
		{file: "verify.mjs", tool: "node", args: []string{"verify.mjs"}},
		{file: "verify.py", tool: "python3", args: []string{"verify.py"}, probe: []string{"python3", "-c", "import cryptography"}},
		// Compiled once: java's single-file launch would compile it for each case.
		{file: "Verify.java", tool: "java", args: []string{"-cp", "classes", "Verify"}, probe: []string{"javac", "-version"}, build: []string{"javac", "-d", "classes", "Verify.java"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			code, ok := all[tc.file]
			if !ok {
				t.Fatalf("%s has no snippet %s", doc, tc.file)
			}
			if _, err := exec.LookPath(tc.tool); err != nil {
				t.Skipf("%s is not installed: snippet not run", tc.tool)
			}
			if tc.probe != nil && exec.Command(tc.probe[0], tc.probe[1:]...).Run() != nil {
				t.Skipf("%s: %s fails: snippet not run", tc.tool, strings.Join(tc.probe[1:], " "))
			}
			dir := t.TempDir()
			write(t, dir, tc.file, []byte(code))
			write(t, dir, "jwks.json", jwks)
			if tc.build != nil {
				if out, err := run(dir, tc.build[0], tc.build[1:]...); err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(tc.build, " "), err, out)
				}
			}
			for _, name := range []string{"valid", "expired", "altered"} {
				write(t, dir, "license.jwt", []byte(cases[name]+"\n"))
				out, err := run(dir, tc.tool, tc.args...)
				switch {
				case name == "valid" && err != nil:
					t.Errorf("%s: got %v for a valid license, want success:\n%s", name, err, out)
				case name == "valid" && !strings.Contains(out, "licensed: con_doc until"):
					t.Errorf("%s: got output %q, want it to name the contract", name, out)
				case name != "valid" && err == nil:
					t.Errorf("%s: the snippet accepted it, want a failure:\n%s", name, out)
				}
			}
		})
	}
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// run bounds each run: a toolchain that hangs fails the test, not the suite.
func run(dir, tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
