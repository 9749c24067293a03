package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/agentapi"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/license"
)

// AgentCmd is the sidecar for products not written in Go: it runs the Go
// client and keeps the current verified license in a file (replaced
// atomically), and serves the client's whole API — license, status,
// capabilities, telemetry — as local HTTP JSON (internal/agentapi,
// described by openapi/agent.json and at /openapi.json).
type AgentCmd struct {
	Contract    string        `help:"Contract id (default: the demo's, with --demo-file)." env:"LICENSOR_CONTRACT"`
	Instance    string        `help:"Instance id; default: generated once and kept in --cache-dir." env:"LICENSOR_INSTANCE"`
	Tenant      string        `help:"Tenant id: its JWKS is fetched from the server when --keys is not given." env:"LICENSOR_TENANT"`
	Keys        string        `help:"JWKS file of the vendor's public keys, pinned (recommended)." type:"path" env:"LICENSOR_KEYS"`
	CacheDir    string        `help:"Where the license, server time and JWKS are cached." default:"./licensor-agent" type:"path" env:"LICENSOR_CACHE_DIR"`
	LicenseFile string        `help:"Static license file to fall back on." type:"path" env:"LICENSOR_LICENSE_FILE"`
	Out         string        `help:"File the current license is written to as JSON (atomically replaced); empty: none." default:"./licensor-agent/license.json" type:"path" env:"LICENSOR_OUT"`
	Listen      string        `help:"Where the local HTTP API listens: a loopback host:port, or unix:/path for a Unix socket (mode 0660); empty: none. See /openapi.json." default:"127.0.0.1:7444" env:"LICENSOR_AGENT_LISTEN"`
	Watch       bool          `help:"Hold a WatchLicense stream so changes arrive at once." default:"true" negatable:""`
	Timeout     time.Duration `help:"Timeout of each call to the server." default:"5s"`
	// Offline activation (offline_cmd.go).
	machineFlag
	InstanceKey    string `help:"Instance key a license from an offline request is bound to." type:"path" env:"LICENSOR_INSTANCE_KEY"`
	OfflineRequest string `help:"Write an offline request file here (- for standard output) with a new key in --instance-key, and exit." type:"path" name:"offline-request"`
	Product        string `help:"The contract's product id: it salts the machine fingerprint, sent for clone detection and put in --offline-request." env:"LICENSOR_PRODUCT"`
}

// Run runs the agent until SIGINT or SIGTERM.
func (a *AgentCmd) Run(g *Globals) error {
	if a.OfflineRequest != "" {
		return a.writeOfflineRequest(g)
	}
	cfg, err := a.clientConfig(g)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg.Logger = log
	ag, err := startAgent(ctx, cfg, a.Out, a.Listen, log)
	if err != nil {
		return err
	}
	if ag.Addr() != "" {
		fmt.Fprintf(os.Stderr, "licensor agent: API on %s (described at /openapi.json)", ag.URL())
		if a.Out != "" {
			fmt.Fprintf(os.Stderr, "; license also in %s", a.Out)
		}
		fmt.Fprintln(os.Stderr)
	}
	<-ctx.Done()
	return ag.Close()
}

// clientConfig builds the client's config from the flags and the demo file.
func (a *AgentCmd) clientConfig(g *Globals) (client.Config, error) {
	cfg := client.Config{
		Server: g.Server, Token: g.Token, CAFile: g.CACert, ContractID: a.Contract, InstanceID: a.Instance,
		TenantID: a.Tenant, CacheDir: a.CacheDir, LicenseFile: a.LicenseFile, Watch: a.Watch, Timeout: a.Timeout,
		InstanceKeyFile: a.InstanceKey, MachineID: a.machineFlag.source(),
		SettingNames: client.CLINames, // connection hints name the flags, not Config fields
	}
	if g.DemoFile != "" {
		d, err := readDemoFile(g.DemoFile)
		if err != nil {
			return cfg, fmt.Errorf("--demo-file: %w", err)
		}
		// The agent is an instance: it uses the contract token, not the admin one.
		cfg.Server = firstOf(cfg.Server, d.Server)
		cfg.Token = firstOf(cfg.Token, d.Token)
		cfg.CAFile = firstOf(cfg.CAFile, d.CACert)
		cfg.ContractID = firstOf(cfg.ContractID, d.ContractID)
		cfg.TenantID = firstOf(cfg.TenantID, d.TenantID)
	}
	if cfg.Token != "" {
		// env:NAME or file:PATH (a mounted secret) as for the admin commands.
		tok, err := readToken(cfg.Token)
		if err != nil {
			return cfg, usageError(err)
		}
		cfg.Token = tok
	}
	if a.Keys != "" {
		b, err := os.ReadFile(a.Keys)
		if err != nil {
			return cfg, fmt.Errorf("--keys: %w", err)
		}
		if cfg.Keys, err = license.ParseJWKS(b); err != nil {
			return cfg, fmt.Errorf("--keys %s: %s", a.Keys, licensor.ErrorMessage(err))
		}
	}
	if cfg.ContractID == "" {
		return cfg, errors.New("no contract: give --contract (or --demo-file)")
	}
	if a.Product != "" {
		// With the product known, the agent reports this machine's
		// fingerprint, so that a copy of its instance id elsewhere is seen.
		fp, err := client.Fingerprint(a.Product, a.machineFlag.source())
		if err != nil {
			return cfg, fmt.Errorf("--product: %w", err)
		}
		cfg.Fingerprint = fp
	}
	return cfg, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// agent keeps the client's license where other processes can read it:
// in a file, and behind the local API.
type agent struct {
	c    *client.Client
	api  *agentapi.Server
	soon time.Duration
	out  string
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	written string // what was last written to out
}

// startAgent starts the client, the API and the file writer. The agent
// runs even when the first check fails: it keeps retrying and its status
// says why it is unlicensed. Telemetry posted to the API goes with every
// check (cfg.Telemetry is the API's store).
func startAgent(ctx context.Context, cfg client.Config, out, listen string, log *slog.Logger) (*agent, error) {
	tel := &agentapi.TelemetryStore{}
	cfg.Telemetry = tel.Get
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	soon := cfg.ExpiringSoon
	if soon <= 0 {
		soon = client.DefaultExpiringSoon
	}
	a := &agent{c: c, soon: soon, out: out, log: log.With("component", "agent"), stop: make(chan struct{})}
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	a.api = agentapi.New(agentapi.Config{Client: c, ExpiringSoon: soon, Telemetry: tel, Logger: log})
	if listen != "" {
		if a.ln, err = agentapi.Listen(listen); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("--listen: %w", err)
		}
		a.srv = &http.Server{Handler: a.api, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: agentapi.CallTimeout + 10*time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
		go func() { _ = a.srv.Serve(a.ln) }()
	}
	update := func() { a.write() }
	c.OnChange(func(*client.License) { update() })
	c.OnExpiringSoon(func(time.Duration) { update() })
	c.OnExpired(update)
	if err := c.Start(ctx); err != nil {
		a.log.Warn("not licensed yet; retrying in the background", "err", err)
	}
	a.write()
	// Routine refreshes (a new token, the same grant) fire no event: look
	// every few seconds, write only when the token or state changed.
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				a.write()
			}
		}
	}()
	return a, nil
}

// Addr is the API's address (a host:port or a socket path), "" if none.
func (a *agent) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// URL is how to reach the API, for the start-up line.
func (a *agent) URL() string {
	if a.ln == nil {
		return ""
	}
	if a.ln.Addr().Network() == "unix" {
		return "unix:" + a.Addr()
	}
	return "http://" + a.Addr()
}

// Close stops the API, returns the leases it holds (not the borrowed
// ones) and stops the client; the file keeps the last license.
func (a *agent) Close() error {
	close(a.stop)
	a.wg.Wait()
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.srv.Shutdown(ctx)
	}
	a.api.Close()
	return a.c.Close()
}

// write replaces the file if the token or the state changed. Readers see
// the old file or the new one, never a partial one.
func (a *agent) write() {
	if a.out == "" {
		return
	}
	d := agentapi.DocumentOf(a.c, a.soon)
	key := d.Token + "|" + d.Status.State.String()
	a.mu.Lock()
	defer a.mu.Unlock()
	if key == a.written {
		return
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	if err := atomicfile.Write(a.out, append(b, '\n'), 0o644); err != nil {
		a.log.Error("cannot write the license file", "path", a.out, "err", err)
		return
	}
	a.written = key
}
