package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"gopkg.in/yaml.v3"
)

// The files in deploy/ name the binary's commands, flags and environment
// variables; these tests parse them with the binary's own parser, so a
// renamed flag breaks the test, not a deployment.

const deployDir = "../../deploy"

// parseArgs parses args with the binary's parser and returns the selected
// command's path and the environment variables its flags read.
func parseArgs(t *testing.T, args []string) (string, map[string]bool) {
	t.Helper()
	var cli CLI
	p, err := kong.New(&cli, kongOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := p.Parse(args)
	if err != nil {
		t.Fatalf("licensor %s: %v", strings.Join(args, " "), err)
	}
	envs := map[string]bool{}
	for _, flags := range ctx.Flags() {
		for _, e := range flags.Envs {
			envs[e] = true
		}
	}
	return ctx.Command(), envs
}

// composeVar replaces ${NAME:?message} and ${NAME} with a stand-in value,
// as compose would with the variables set.
var composeVar = regexp.MustCompile(`\$\{([A-Z_]+)(:[?-][^}]*)?\}`)

func expand(s string) string { return composeVar.ReplaceAllString(s, "x") }

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   yaml.Node         `yaml:"depends_on"`
		Ports       []string          `yaml:"ports"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestComposeMatchesBinary(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	commands := map[string]int{}
	for name, svc := range c.Services {
		t.Run(name, func(t *testing.T) {
			if svc.Image == "" {
				t.Fatal("no image")
			}
			// Every service it depends on exists.
			var deps []string
			switch svc.DependsOn.Kind {
			case yaml.SequenceNode:
				_ = svc.DependsOn.Decode(&deps)
			case yaml.MappingNode:
				for i := 0; i < len(svc.DependsOn.Content); i += 2 {
					deps = append(deps, svc.DependsOn.Content[i].Value)
				}
			}
			for _, d := range deps {
				if _, ok := c.Services[d]; !ok {
					t.Errorf("depends on %s: no such service", d)
				}
			}
			// Every bind-mounted file of the repository exists; named
			// volumes are declared.
			for _, v := range svc.Volumes {
				src, _, _ := strings.Cut(v, ":")
				switch {
				case src == "./tls": // made by the operator (see the file's header)
				case strings.HasPrefix(src, "./"):
					if _, err := os.Stat(filepath.Join(deployDir, src)); err != nil {
						t.Errorf("volume %s: %v", v, err)
					}
				default:
					if _, ok := c.Volumes[src]; !ok {
						t.Errorf("volume %s: not declared under volumes", v)
					}
				}
			}
			if !strings.HasPrefix(svc.Image, "licensor:") {
				return
			}
			args := make([]string, len(svc.Command))
			for i, a := range svc.Command {
				args[i] = expand(a)
			}
			cmd, envs := parseArgs(t, args)
			commands[cmd]++
			for k := range svc.Environment {
				if strings.HasPrefix(k, "LICENSOR_") && !envs[k] && !readOutsideFlags(t, k) {
					t.Errorf("environment %s: no flag of licensor %s reads it", k, cmd)
				}
			}
		})
	}
	if commands["serve"] != 2 || commands["migrate"] != 1 {
		t.Errorf("licensor services: got %v, want 2 serve and 1 migrate", commands)
	}

	// HAProxy balances the serve services, checking their metrics port;
	// Prometheus scrapes the same.
	haproxy, err := os.ReadFile(filepath.Join(deployDir, "haproxy/haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	prom, err := os.ReadFile(filepath.Join(deployDir, "prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"licensor-1", "licensor-2"} {
		if !strings.Contains(string(haproxy), "server "+s+" "+s+":7443") {
			t.Errorf("haproxy.cfg: no backend server %s:7443", s)
		}
		if !strings.Contains(string(prom), s+":7445") {
			t.Errorf("prometheus.yml: no target %s:7445", s)
		}
	}
	if !strings.Contains(string(haproxy), "check port 7445") || !strings.Contains(string(haproxy), "GET /healthz") {
		t.Error("haproxy.cfg: servers not checked on /healthz of port 7445")
	}
}

// readOutsideFlags tells whether the server reads the variable name
// itself, not through a flag: the master key, read by internal/signing.
func readOutsideFlags(t *testing.T, name string) bool {
	t.Helper()
	if name != "LICENSOR_MASTER_KEY" {
		return false
	}
	b, err := os.ReadFile("../../internal/signing/masterkey.go")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), `"`+name+`"`)
}

// The container image's environment and command are serve's.
func TestContainerfileMatchesBinary(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "container/Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	_, envs := parseArgs(t, []string{"serve"})
	_, hcEnvs := parseArgs(t, []string{"healthcheck"})
	text := string(b)
	for _, name := range regexp.MustCompile(`\bLICENSOR_[A-Z_]+\b`).FindAllString(text, -1) {
		if !envs[name] && !hcEnvs[name] {
			t.Errorf("Containerfile sets %s: neither serve nor healthcheck reads it", name)
		}
	}
	for _, want := range []string{`CMD ["serve"]`, `"healthcheck"]`, "USER 65532", `VOLUME ["/data"]`, "FROM scratch"} {
		if !strings.Contains(text, want) {
			t.Errorf("Containerfile: missing %s", want)
		}
	}
}

// The systemd unit passes systemd-analyze verify (where it is installed),
// is hardened, and its ExecStart is a valid serve command line.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "systemd/licensor.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=licensor", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"} {
		if !strings.Contains(unit, want) {
			t.Errorf("licensor.service: missing %q", strings.TrimSpace(want))
		}
	}
	var execStart []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) < 2 || execStart[0] != "/usr/local/bin/licensor" {
		t.Fatalf("ExecStart: got %q, want /usr/local/bin/licensor serve ...", execStart)
	}
	if cmd, _ := parseArgs(t, execStart[1:]); cmd != "serve" {
		t.Errorf("ExecStart runs licensor %s, want serve", cmd)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: unit not verified")
	}
	// verify wants ExecStart's binary to exist and be executable.
	dir := t.TempDir()
	bin := filepath.Join(dir, "licensor")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "licensor.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/licensor", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// systemd's own exposure score (0 best, 10 worst), where this systemd
	// can score a unit file offline.
	out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security --offline: %v (not scored)", err)
		return
	}
	m := regexp.MustCompile(`Overall exposure level for licensor.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no score in\n%s", out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2 {
		t.Errorf("exposure level: got %s, want at most 2 (OK)", m[1])
	}
}

// HAProxy accepts its configuration, where it is installed.
func TestHAProxyConfig(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed: deploy/haproxy/haproxy.cfg not checked")
	}
	if out, err := exec.Command(haproxy, "-c", "-f", filepath.Join(deployDir, "haproxy/haproxy.cfg")).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s", err, out)
	}
}
