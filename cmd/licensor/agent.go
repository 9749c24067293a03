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
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/license"
)

// AgentCmd is the sidecar for products not written in Go: it runs the Go
// client and keeps the current verified license in a file (replaced
// atomically) and on a local HTTP endpoint, as JSON.
type AgentCmd struct {
	Contract    string        `help:"Contract id (default: the demo's, with --demo-file)." env:"LICENSOR_CONTRACT"`
	Instance    string        `help:"Instance id; default: generated once and kept in --cache-dir." env:"LICENSOR_INSTANCE"`
	Tenant      string        `help:"Tenant id: its JWKS is fetched from the server when --keys is not given." env:"LICENSOR_TENANT"`
	Keys        string        `help:"JWKS file of the vendor's public keys, pinned (recommended)." type:"path" env:"LICENSOR_KEYS"`
	CacheDir    string        `help:"Where the license, server time and JWKS are cached." default:"./licensor-agent" type:"path" env:"LICENSOR_CACHE_DIR"`
	LicenseFile string        `help:"Static license file to fall back on." type:"path" env:"LICENSOR_LICENSE_FILE"`
	Out         string        `help:"File the current license is written to as JSON (atomically replaced); empty: none." default:"./licensor-agent/license.json" type:"path" env:"LICENSOR_OUT"`
	Listen      string        `help:"Local HTTP endpoint serving GET /license and /healthz; empty: none." default:"127.0.0.1:7444" env:"LICENSOR_AGENT_LISTEN"`
	Watch       bool          `help:"Hold a WatchLicense stream so changes arrive at once." default:"true" negatable:""`
	Timeout     time.Duration `help:"Timeout of each call to the server." default:"5s"`
}

// Run runs the agent until SIGINT or SIGTERM.
func (a *AgentCmd) Run(g *Globals) error {
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
		fmt.Fprintf(os.Stderr, "licensor agent: license on http://%s/license", ag.Addr())
		if a.Out != "" {
			fmt.Fprintf(os.Stderr, " and in %s", a.Out)
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
	return cfg, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// agent keeps the client's license where other processes can read it.
type agent struct {
	c    *client.Client
	out  string
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	written string // what was last written to out
}

// agentDoc is what the file and the endpoint hold. The token is the truth:
// a reader that can verify a JWS should; the claims are a convenience.
type agentDoc struct {
	Token      string           `json:"token,omitempty"`
	Claims     *licensor.Claims `json:"claims,omitempty"`
	Status     agentStatus      `json:"status"`
	InstanceID string           `json:"instance_id"`
}

type agentStatus struct {
	State            client.State `json:"state"`
	Licensed         bool         `json:"licensed"`
	Reason           string       `json:"reason,omitempty"`
	RemainingSeconds int64        `json:"remaining_seconds"`
	ExpiresAt        *time.Time   `json:"expires_at,omitempty"`
	Source           string       `json:"source,omitempty"`
	Fallback         bool         `json:"fallback"`
	FallbackCutoff   *time.Time   `json:"fallback_cutoff,omitempty"`
	LastError        string       `json:"last_error,omitempty"`
}

// startAgent starts the client, the endpoint and the file writer. The
// agent runs even when the first check fails: it keeps retrying and its
// status says why it is unlicensed.
func startAgent(ctx context.Context, cfg client.Config, out, listen string, log *slog.Logger) (*agent, error) {
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	a := &agent{c: c, out: out, log: log.With("component", "agent"), stop: make(chan struct{})}
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	if listen != "" {
		if a.ln, err = net.Listen("tcp", listen); err != nil {
			return nil, fmt.Errorf("--listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /license", a.serveLicense)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
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

// Addr is the endpoint's address, "" if there is none.
func (a *agent) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Close stops the agent; the file keeps the last license.
func (a *agent) Close() error {
	close(a.stop)
	a.wg.Wait()
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.srv.Shutdown(ctx)
	}
	return a.c.Close()
}

func (a *agent) doc() agentDoc {
	st := a.c.Status()
	d := agentDoc{InstanceID: a.c.InstanceID(), Status: agentStatus{
		State: st.State, Licensed: st.Licensed(), Reason: st.Reason, RemainingSeconds: int64(st.Remaining / time.Second),
		Source: string(st.Source), Fallback: st.Fallback,
	}}
	if !st.ExpiresAt.IsZero() {
		t := st.ExpiresAt.UTC()
		d.Status.ExpiresAt = &t
	}
	if st.Fallback {
		t := st.FallbackCutoff.UTC()
		d.Status.FallbackCutoff = &t
	}
	if st.LastError != nil {
		d.Status.LastError = st.LastError.Error()
	}
	if l := a.c.License(); l != nil && st.Licensed() {
		d.Token, d.Claims = l.Token, l.Claims
	}
	return d
}

// write replaces the file if the token or the state changed. Readers see
// the old file or the new one, never a partial one.
func (a *agent) write() {
	if a.out == "" {
		return
	}
	d := a.doc()
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

// serveLicense answers 200 with the document when licensed, 503 with it
// (saying why) when not, so a script can act on the status code alone.
func (a *agent) serveLicense(w http.ResponseWriter, r *http.Request) {
	d := a.doc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !d.Status.Licensed {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(d)
}
