package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/licensor/licensor/internal/buildinfo"
)

// parse runs the binary's parser on args and returns what it printed and
// whether it exited (as --help and --version do).
func parse(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	var cli CLI
	var out bytes.Buffer
	exited := false
	p, err := kong.New(&cli, append(kongOptions(), kong.Writers(&out, &out), kong.Exit(func(int) { exited = true; panic(exitPanic{}) }))...)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); !ok {
					panic(r)
				}
			}
		}()
		_, err = p.Parse(args)
	}()
	if err != nil && !exited {
		t.Fatalf("parse %q: %v", args, err)
	}
	return out.String(), exited
}

type exitPanic struct{}

// serve --help shows serve's flags, not the client flags it ignores; a
// client command's help still shows them.
func TestHelpShowsOnlyWhatApplies(t *testing.T) {
	clientOnly := []string{"--server", "--token", "--ca-cert", "--demo-file", "--output"}
	tests := []struct {
		args       []string
		wantClient bool
		want       string
	}{
		{[]string{"serve", "--help"}, false, "--listen"},
		{[]string{"migrate", "--help"}, false, "--db"},
		{[]string{"admin", "contract", "list", "--help"}, true, "--server"},
		{[]string{"license", "issue", "--help"}, true, "--contract"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, exited := parse(t, tc.args...)
			if !exited {
				t.Fatal("--help did not exit")
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("help: missing %s in\n%s", tc.want, out)
			}
			for _, f := range clientOnly {
				if got := strings.Contains(out, f); got != tc.wantClient {
					t.Errorf("help lists %s: got %v, want %v", f, got, tc.wantClient)
				}
			}
		})
	}
	// Hiding is for the help only: the flags stay on the model.
	out, _ := parse(t, "admin", "--help")
	if !strings.Contains(out, "--server") {
		t.Errorf("admin --help after serve --help: missing --server in\n%s", out)
	}
}

func TestIsVersionFlag(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"--version"}, true},
		{[]string{"admin", "contract", "change", "--version", "3"}, false},
		{[]string{"version"}, false}, // the command: kong runs it
		{nil, false},
	}
	for _, tc := range tests {
		if got := isVersionFlag(tc.args); got != tc.want {
			t.Errorf("isVersionFlag(%q): got %v, want %v", tc.args, got, tc.want)
		}
	}
	if want := "licensor " + buildinfo.Read().Version; !strings.HasPrefix(buildinfo.Read().String(), want) {
		t.Errorf("version line: got %q, want it to start with %q", buildinfo.Read().String(), want)
	}
}

// A built binary reports the commit Go stamped from version control, the
// same through the command and the flag.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git work tree: %v", err)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("git rev-parse: %v", err)
	}
	// Go stamps only a checkout whose .git is a directory, not a linked
	// worktree's .git file.
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		t.Skip("a linked git worktree: go build stamps no commit here")
	}
	bin := filepath.Join(t.TempDir(), "licensor")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("go build -buildvcs=true: %v\n%s", err, out) // e.g. a work tree git cannot read
	}
	cmdOut, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("licensor version: %v", err)
	}
	flagOut, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("licensor --version: %v", err)
	}
	if string(cmdOut) != string(flagOut) {
		t.Errorf("version %q and --version %q differ", cmdOut, flagOut)
	}
	if !strings.Contains(string(cmdOut), strings.TrimSpace(string(rev))) {
		t.Errorf("licensor version: got %q, want commit %s in it", cmdOut, rev)
	}
}
