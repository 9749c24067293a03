package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
	"go.yaml.in/yaml/v3"

	"github.com/licensor/licensor/client"
)

// runExit runs one command line as main does and returns its exit code,
// what it printed and what it wrote to stderr.
func runExit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var cli CLI
	p, err := kong.New(&cli, append(parserOptions(), kong.Exit(func(int) { t.Fatalf("kong exited on %v", args) }))...)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	stdout = &out
	defer func() { stdout = os.Stdout }()
	code := run(p, &cli, args, &errOut)
	return code, out.String(), errOut.String()
}

// TestUsageError: a wrong command line prints one line and where to read
// more (not the whole help), and exits 2.
func TestUsageError(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"MissingFlags", []string{"admin", "contract", "create"}, "run 'licensor admin contract create --help'"},
		{"UnknownCommand", []string{"admin", "contrac"}, "run 'licensor admin --help'"},
		{"BadDuration", []string{"admin", "tenant", "update", "--queue-wait", "soon"}, "run 'licensor admin tenant update --help'"},
		{"BadOutput", []string{"-o", "xml", "admin", "tenant", "list"}, "--help' for usage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runExit(t, c.args...)
			if code != ExitInvalid {
				t.Errorf("exit: got %d, want %d", code, ExitInvalid)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "licensor: ") || !strings.Contains(lines[1], c.want) {
				t.Errorf("stderr: got %q, want an error line and %q", errOut, c.want)
			}
		})
	}
}

// TestExitCodes: the server's answers map to the documented exit codes.
func TestExitCodes(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"OK", []string{"admin", "--demo-file", demo, "customer", "list"}, ExitOK},
		{"NotFound", []string{"admin", "--demo-file", demo, "contract", "get", "con_nosuch"}, ExitNotFound},
		{"TokenRefused", []string{"admin", "--demo-file", demo, "--token", "lic_wrong", "customer", "list"}, ExitAuth},
		{"Invalid", []string{"admin", "--demo-file", demo, "contract", "change", m.Demo.ContractID, "--add", "nosuchfeature"}, ExitInvalid},
		{"Conflict", []string{"admin", "--demo-file", demo, "contract", "change", m.Demo.ContractID, "--name", "x", "--version", "999"}, ExitConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runExit(t, c.args...)
			if code != c.want {
				t.Errorf("exit: got %d (%s), want %d", code, strings.TrimSpace(errOut), c.want)
			}
		})
	}
	for code, want := range map[connect.Code]int{connect.CodeResourceExhausted: ExitBusy, connect.CodeUnavailable: ExitError, connect.CodePermissionDenied: ExitAuth} {
		if got := exitCode(connect.NewError(code, nil)); got != want {
			t.Errorf("exitCode(%v): got %d, want %d", code, got, want)
		}
	}
}

// TestOutputFormats: -o id prints only ids, -o json is the same bytes on
// every run and indented by encoding/json, -o yaml parses, and a table
// names the customer next to its id.
func TestOutputFormats(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	admin := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append([]string{"admin", "--demo-file", demo}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	if got := admin("-o", "id", "contract", "list"); got != m.Demo.ContractID+"\n" {
		t.Errorf("-o id: got %q, want the contract id alone", got)
	}
	j1, j2 := admin("-o", "json", "contract", "list"), admin("-o", "json", "contract", "list")
	if j1 != j2 {
		t.Errorf("-o json differs between runs:\n%s\n%s", j1, j2)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(strings.TrimSuffix(j1, "\n")), "", "  "); err != nil || buf.String()+"\n" != j1 {
		t.Errorf("-o json: got %q, want encoding/json's indentation (%v)", j1, err)
	}
	var y struct {
		Contracts []struct {
			ID string `yaml:"id"`
		} `yaml:"contracts"`
	}
	if err := yaml.Unmarshal([]byte(admin("-o", "yaml", "contract", "list")), &y); err != nil || len(y.Contracts) != 1 || y.Contracts[0].ID != m.Demo.ContractID {
		t.Errorf("-o yaml: got %+v, %v; want the demo contract", y, err)
	}
	if out := admin("contract", "list"); !strings.Contains(out, "Acme Corp ("+m.Demo.CustomerID+")") || !strings.Contains(out, "Demo Suite ("+m.Demo.ProductID+")") || !strings.Contains(out, "Acme annual") {
		t.Errorf("contract list: got %q, want the customer's, the product's and the contract's names", out)
	}
	// A secret shown once is never lost to -o id: it goes to stderr.
	var secret bytes.Buffer
	stderr = &secret
	defer func() { stderr = os.Stderr }()
	if out := admin("-o", "id", "token", "create", "--contract", m.Demo.ContractID); !regexp.MustCompile(`^tok_\w+\n$`).MatchString(out) ||
		!strings.Contains(secret.String(), "secret (shown once, store it now): ") {
		t.Errorf("token create -o id: got %q on stdout and %q on stderr, want the id alone and the secret on stderr", out, secret.String())
	}
	if out := admin("contract", "get", m.Demo.ContractID); !strings.Contains(out, "14d") || !strings.Contains(out, "2h ") {
		t.Errorf("contract get: got %q, want validity 14d and refresh 2h", out)
	}
}

// TestContractChangeAddRemove: --add and --remove edit the feature set,
// -f replaces it, and the two cannot be mixed.
func TestContractChangeAddRemove(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	id := m.Demo.ContractID
	features := func() string {
		t.Helper()
		out, err := runCLI(t, "admin", "--demo-file", demo, "-o", "json", "contract", "get", id)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Contract struct {
				Features []struct {
					Feature string `json:"feature"`
					Count   string `json:"count"`
				} `json:"features"`
			} `json:"contract"`
		}
		_ = json.Unmarshal([]byte(out), &r)
		var fs []string
		for _, f := range r.Contract.Features {
			fs = append(fs, f.Feature+"="+f.Count)
		}
		return strings.Join(fs, ",")
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"--remove", "gpu-export"}, "reporting=,solver=50"},
		{[]string{"--add", "solver=60", "--add", "gpu-export=2"}, "gpu-export=2,reporting=,solver=60"},
		{[]string{"-f", "reporting"}, "reporting="},
	}
	for _, s := range steps {
		if _, err := runCLI(t, append([]string{"admin", "--demo-file", demo, "contract", "change", id}, s.args...)...); err != nil {
			t.Fatalf("change %v: %v", s.args, err)
		}
		if got := features(); got != s.want {
			t.Errorf("after change %v: got features %s, want %s", s.args, got, s.want)
		}
	}
	for _, args := range [][]string{{"-f", "solver=1", "--add", "reporting"}, {"--remove", "gpu-export"}, {"--add", "solver=1", "--remove", "solver"}} {
		code, _, errOut := runExit(t, append([]string{"admin", "--demo-file", demo, "contract", "change", id}, args...)...)
		if code != ExitInvalid {
			t.Errorf("change %v: got exit %d (%s), want %d", args, code, errOut, ExitInvalid)
		}
	}
}

// TestProfiles: login saves a context (0600) that later commands use
// without flags; set-context, use-context, get-contexts and
// current-context manage them; a token reference is read at use and never
// shown; flags still win over the context.
func TestProfiles(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	cfg := filepath.Join(t.TempDir(), "licensor", "config.yaml")
	t.Setenv("LICENSOR_CONFIG", cfg)
	t.Setenv("TEST_LICENSOR_TOKEN", m.Demo.AdminToken)
	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := runExit(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	// login checks before it saves: a refused token saves nothing.
	if code, _, errOut := runExit(t, "login", "bad", "--demo-file", demo, "--token", "lic_wrong"); code != ExitAuth || !strings.Contains(errOut, "not saved") {
		t.Errorf("login with a wrong token: got exit %d, %q; want %d and not saved", code, errOut, ExitAuth)
	}
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Errorf("config file after a refused login: got %v, want none", err)
	}
	ok("login", "demo", "--demo-file", demo)
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: got %v, %v; want mode 0600", fi, err)
	}
	if out := ok("-o", "id", "admin", "customer", "list"); out != m.Demo.CustomerID+"\n" {
		t.Errorf("customer list with the current context: got %q, want the demo customer", out)
	}
	// A context keeping only a reference to the token.
	ok("config", "set-context", "byref", "--server", m.Demo.Server, "--ca-cert", m.Demo.CACert, "--token", "env:TEST_LICENSOR_TOKEN")
	ok("config", "use-context", "byref")
	if out := ok("config", "current-context"); out != "byref\n" {
		t.Errorf("current-context: got %q, want byref", out)
	}
	if out := ok("-o", "id", "admin", "customer", "list"); out != m.Demo.CustomerID+"\n" {
		t.Errorf("customer list with a token reference: got %q", out)
	}
	raw, _ := os.ReadFile(cfg)
	if strings.Count(string(raw), m.Demo.AdminToken) != 1 || !strings.Contains(string(raw), "env:TEST_LICENSOR_TOKEN") {
		t.Errorf("config file: got %s, want the demo's token once (login) and the reference", raw)
	}
	out := ok("config", "get-contexts")
	if strings.Contains(out, m.Demo.AdminToken) || !regexp.MustCompile(`byref\s+\*`).MatchString(out) || !strings.Contains(out, "env:TEST_LICENSOR_TOKEN") {
		t.Errorf("get-contexts: got %q, want byref current, its reference shown and no token", out)
	}
	// Completion of ids asks the current context's server.
	t.Setenv("COMP_LINE", "licensor admin contract get ")
	var cli CLI
	var comp bytes.Buffer
	p, err := kong.New(&cli, append(parserOptions(), kong.Writers(&comp, &comp))...)
	if err != nil {
		t.Fatal(err)
	}
	answerCompletion(p, kongplete.WithExitFunc(func(int) {}))
	if !strings.Contains(comp.String(), m.Demo.ContractID) {
		t.Errorf("completing a contract id: got %q, want %s", comp.String(), m.Demo.ContractID)
	}
	os.Unsetenv("COMP_LINE")

	// A context whose server is down: --context picks another, and the
	// error of the down one says what to check.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "https://" + ln.Addr().String()
	ln.Close()
	ok("config", "set-context", "down", "--server", down, "--token", "x")
	ok("config", "use-context", "down")
	code, _, errOut := runExit(t, "admin", "customer", "list")
	if code != ExitError || !strings.Contains(errOut, "is the server running? is --server right?") {
		t.Errorf("server down: got exit %d, %q; want 1 and the hint", code, errOut)
	}
	if out := ok("-o", "id", "--context", "demo", "admin", "customer", "list"); out != m.Demo.CustomerID+"\n" {
		t.Errorf("--context demo: got %q", out)
	}
	// Flags win: the demo server with no CA given is not trusted.
	code, _, errOut = runExit(t, "--server", m.Demo.Server, "--token", m.Demo.AdminToken, "admin", "customer", "list")
	if code != ExitError || !strings.Contains(errOut, "--ca-cert") {
		t.Errorf("flags without --ca-cert: got exit %d, %q; want 1 and a hint naming --ca-cert", code, errOut)
	}
	if code, _, _ := runExit(t, "--context", "nosuch", "admin", "customer", "list"); code != ExitInvalid {
		t.Errorf("--context nosuch: got exit %d, want %d", code, ExitInvalid)
	}
	ok("config", "delete-context", "down")
	if code, _, _ := runExit(t, "config", "current-context"); code != ExitNotFound {
		t.Errorf("current-context after deleting it: got exit %d, want %d", code, ExitNotFound)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in     string
		future bool
		want   time.Time
	}{
		{"7d", false, now.AddDate(0, 0, -7)},
		{"1h", false, now.Add(-time.Hour)},
		{"30d", true, now.AddDate(0, 0, 30)},
		{"+1d12h", false, now.Add(36 * time.Hour)},
		{"-2h", true, now.Add(-2 * time.Hour)},
		{"3d ago", true, now.AddDate(0, 0, -3)},
		{"now", false, now},
		{"2027-01-31", false, time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2027-01-31T10:00:00+02:00", false, time.Date(2027, 1, 31, 8, 0, 0, 0, time.UTC)},
	} {
		got, err := parseTime(c.in, c.future, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTime(%q, future=%v): got %v, %v; want %v", c.in, c.future, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "soon", "-", "7x", "2027-13-01"} {
		if _, err := parseTime(bad, false, now); err == nil {
			t.Errorf("parseTime(%q): got no error, want one", bad)
		}
	}
}

// TestCompletion: completion prints a script for each shell, and the
// binary answers the shell's request with commands and flags.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -C", "zsh": "bashcompinit", "fish": "complete -f -c licensor"} {
		out, err := runCLI(t, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: got %q, %v; want %q", shell, out, err, want)
		}
	}
	for line, want := range map[string]string{"licensor admin con": "contract", "licensor admin contract change x --re": "--remove", "licensor con": "config"} {
		t.Setenv("COMP_LINE", line)
		var cli CLI
		var out bytes.Buffer
		p, err := kong.New(&cli, append(parserOptions(), kong.Writers(&out, &out))...)
		if err != nil {
			t.Fatal(err)
		}
		exited := false
		answerCompletion(p, kongplete.WithExitFunc(func(int) { exited = true }))
		if !exited || !strings.Contains(out.String(), want) {
			t.Errorf("COMP_LINE=%q: got %q (exited %v), want %q", line, out.String(), exited, want)
		}
	}
}

// TestMigrateSQLite: migrate names the migrations it applies, then says
// there is nothing to apply.
func TestMigrateSQLite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "licensor.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := &MigrateCmd{Data: dir}
	if err := cmd.migrate(t.Context(), &out); err != nil || !strings.Contains(out.String(), "applied 0001_") {
		t.Fatalf("first migrate: got %q, %v; want the migrations it applied", out.String(), err)
	}
	out.Reset()
	if err := cmd.migrate(t.Context(), &out); err != nil || !strings.Contains(out.String(), "nothing to apply") {
		t.Errorf("second migrate: got %q, %v; want nothing to apply", out.String(), err)
	}
}

// TestAgentHintsNameFlags: the agent's client words its connection hints
// with the agent's flags, as the CLI does, not with the library's fields.
func TestAgentHintsNameFlags(t *testing.T) {
	cfg, err := (&AgentCmd{Contract: "con_x"}).clientConfig(&Globals{Server: "https://127.0.0.1:1", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SettingNames != client.CLINames {
		t.Errorf("agent SettingNames: got %+v, want %+v", cfg.SettingNames, client.CLINames)
	}
}

// TestHelpListsExitCodes: every command's help ends with the exit codes.
func TestHelpListsExitCodes(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"admin", "contract", "change", "--help"}, {"license", "verify", "--help"}} {
		var cli CLI
		var out bytes.Buffer
		p, err := kong.New(&cli, append(parserOptions(), kong.Writers(&out, &out), kong.Exit(func(int) {}))...)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = p.Parse(args)
		if strings.Count(out.String(), "Exit codes: 0 ok") != 1 || !strings.Contains(out.String(), "7 exhausted") {
			t.Errorf("%v: got %q, want the exit codes once", args, out.String())
		}
	}
}

// TestRelativeTimeFlags: a duration given for a time flag reaches the
// server as that long from now, forward for an end, back for --since.
func TestRelativeTimeFlags(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	before := time.Now()
	out, err := runCLI(t, "admin", "--demo-file", demo, "-o", "json", "contract", "extend", m.Demo.ContractID, "--ends", "400d")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Contract struct {
			EndsAt time.Time `json:"ends_at"`
		} `json:"contract"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if lo, hi := before.AddDate(0, 0, 400), time.Now().AddDate(0, 0, 400); r.Contract.EndsAt.Before(lo.Truncate(time.Second)) || r.Contract.EndsAt.After(hi) {
		t.Errorf("--ends 400d: got %v, want between %v and %v", r.Contract.EndsAt, lo, hi)
	}
	// The demo's set-up and the extension are minutes old at most.
	for _, c := range []struct {
		flag, value string
		some        bool
	}{{"--since", "1h", true}, {"--since", "7d", true}, {"--until", "7d", false}, {"--since", "+1d", false}} {
		out, err := runCLI(t, "admin", "--demo-file", demo, "-o", "id", "audit", "list", c.flag, c.value)
		if err != nil || (out != "") != c.some {
			t.Errorf("audit list %s %s: got %q, %v; want entries: %v", c.flag, c.value, out, err, c.some)
		}
	}
}
