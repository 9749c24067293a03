package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor/bench"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// BenchCmd is the fleet simulator.
type BenchCmd struct {
	Run  BenchRunCmd  `cmd:"" default:"withargs" help:"Simulate a fleet against a server (the default)."`
	Seed BenchSeedCmd `cmd:"" help:"Store many instances directly in an embedded database, for the large-store figures."`
}

// BenchRunCmd runs one scenario.
type BenchRunCmd struct {
	Scenario string `arg:"" optional:"" default:"refresh" enum:"refresh,check,capabilities,surge,mixed,attack" help:"refresh, check, capabilities, surge, mixed or attack."`

	ContractToken string `name:"contract-token" help:"Contract token the instances use (default: --token if given, else the demo file's token)." env:"LICENSOR_CONTRACT_TOKEN"`
	Contract      string `help:"Contract id (default: the demo file's, or --contract-file's)."`
	ContractFile  string `name:"contract-file" type:"path" help:"JSON file with contract_id and token (as written by bench seed or --save-contract, or a demo.json)."`
	SaveContract  string `name:"save-contract" type:"path" help:"With --fresh-contract: write its contract_id and token to this file (0600), for --contract-file of other generators that should share it, e.g. one per server of a cluster."`
	FreshContract bool   `name:"fresh-contract" help:"Create a fresh contract without a seat limit, and a token for it, through the admin API (needs the admin token, e.g. from --demo-file)."`

	Rate        float64       `help:"Open loop: target arrival rate per second; latency counts from each call's intended send time. 0: closed loop."`
	Concurrency int           `short:"c" help:"Closed loop: workers (default 16). Open loop and surge: most calls in flight (default 512)."`
	Duration    time.Duration `short:"d" help:"How long to run."`
	Requests    int64         `short:"n" help:"How many operations to run."`
	Warmup      time.Duration `help:"Run this long at the same pace before counting anything (new instances take seats, caches fill); not for surge."`
	Timeout     time.Duration `default:"10s" help:"Bound on each call."`
	Instances   int           `default:"1000" help:"Distinct instance ids the fleet cycles through."`
	Prefix      string        `default:"bench-" help:"Prefix of the simulated instance ids."`
	Conns       int           `default:"4" help:"HTTP/2 connections the fleet shares."`
	Protocol    string        `default:"grpc" enum:"grpc,connect" help:"Wire protocol: grpc or connect."`
	Client      string        `enum:"grpc-go,connect-go," default:"" help:"Client stack: grpc-go (google.golang.org/grpc; the default for grpc: one write per call, the cheapest generator) or connect-go (net/http, as the Licensor client library; the only one for connect)."`

	Feature string        `default:"solver" help:"capabilities: the counted feature to request."`
	Units   int64         `default:"1" help:"capabilities: units per request."`
	Hold    time.Duration `help:"capabilities: how long to hold the units before returning them."`

	SurgeInstances int           `name:"surge-instances" default:"1000" help:"surge: how many instances come back."`
	SurgeWindow    time.Duration `name:"surge-window" default:"10s" help:"surge: the window their returns are spread over."`
	SurgeDeadline  time.Duration `name:"surge-deadline" default:"60s" help:"surge: every flow must be licensed within this, from the start."`

	AttackSlow     int           `name:"attack-slow" default:"2000" help:"attack: connections sending a request body a byte per --attack-interval, without a token."`
	AttackIdle     int           `name:"attack-idle" default:"2000" help:"attack: connections that finish the handshake and send nothing."`
	AttackInterval time.Duration `name:"attack-interval" default:"2s" help:"attack: pace of the slow bodies, and the wait before an attacker redials."`
	AttackAddrs    int           `name:"attack-addrs" default:"64" help:"attack: loopback source addresses (127.1.x.y) the attackers spread over."`

	PID       int      `help:"A local server's process id, to report its CPU time and peak RSS."`
	Spawn     bool     `help:"Start a server (serve --demo on 127.0.0.1, fresh data directory) as a child process, run against it and stop it."`
	SpawnData string   `name:"spawn-data" type:"path" help:"Data directory of the spawned server (default: a new temporary one)."`
	SpawnArg  []string `name:"spawn-arg" help:"Extra argument for the spawned serve (repeatable)."`
	Quiet     bool     `short:"q" help:"No live progress line on stderr."`
	// CPUProfile profiles the load generator itself: on a shared machine
	// its cost is the server's lost capacity.
	CPUProfile string `name:"cpuprofile" type:"path" help:"Write a CPU profile of this load generator (not of the server: see serve --pprof) to this file."`
}

// Run runs the scenario and prints the report.
func (c *BenchRunCmd) Run(g *Globals) error {
	ctx, stop := signalContext()
	defer stop()
	tuneGC() // the generator shares the machine: the less it collects, the less it disturbs the server
	explicitToken := g.Token
	if c.Spawn {
		srv, err := spawnServer(ctx, c.SpawnData, c.SpawnArg)
		if err != nil {
			return err
		}
		defer srv.stop()
		g.DemoFile, g.Server, g.CACert = srv.demoFile, "", ""
		c.PID = srv.cmd.Process.Pid
		fmt.Fprintf(os.Stderr, "spawned server pid %d, ready in %s (data %s)\n", c.PID, srv.ready.Round(time.Millisecond), srv.dir)
	}
	var demo *DemoFile
	if g.DemoFile != "" {
		d, err := readDemoFile(g.DemoFile)
		if err != nil {
			return fmt.Errorf("--demo-file: %w", err)
		}
		demo = d
	}
	token, contract := c.ContractToken, c.Contract
	if c.ContractFile != "" {
		d, err := readDemoFile(c.ContractFile)
		if err != nil {
			return fmt.Errorf("--contract-file: %w", err)
		}
		token, contract = or(token, d.Token), or(contract, d.ContractID)
	}
	if demo != nil {
		token, contract = or(token, explicitToken, demo.Token), or(contract, demo.ContractID)
	} else {
		token = or(token, explicitToken)
	}
	if g.Token == "" && demo == nil {
		g.Token = token // resolve wants one; only --fresh-contract needs an admin token
	}
	if err := g.resolve(); err != nil {
		return err
	}
	if c.FreshContract {
		var err error
		if contract, token, err = freshContract(ctx, g, demo); err != nil {
			return fmt.Errorf("--fresh-contract: %w", g.cliError(ctx, err))
		}
		if c.SaveContract != "" {
			b, err := json.Marshal(DemoFile{ContractID: contract, Token: token})
			if err != nil {
				return err
			}
			if err := os.WriteFile(c.SaveContract, b, 0o600); err != nil {
				return fmt.Errorf("--save-contract: %w", err)
			}
		}
	} else if c.SaveContract != "" {
		return errors.New("--save-contract needs --fresh-contract")
	}
	if token == "" || contract == "" {
		return errors.New("no contract: give --contract-token and --contract, --contract-file, or --demo-file")
	}
	cfg := bench.Config{
		Server: g.Server, Conns: c.Conns, Protocol: c.Protocol, Client: c.Client, Token: token, ContractID: contract,
		Scenario: c.Scenario, Rate: c.Rate, Concurrency: c.Concurrency, Duration: c.Duration, Requests: c.Requests, Warmup: c.Warmup,
		Timeout: c.Timeout, Instances: c.Instances, InstancePrefix: c.Prefix,
		Feature: c.Feature, Units: c.Units, Hold: c.Hold,
		SurgeInstances: c.SurgeInstances, SurgeWindow: c.SurgeWindow, SurgeDeadline: c.SurgeDeadline,
		PID: c.PID, AttackSlow: c.AttackSlow, AttackIdle: c.AttackIdle, AttackInterval: c.AttackInterval, AttackAddrs: c.AttackAddrs,
	}
	// The trust is read once; each connection gets its own transport (and
	// so its own HTTP/2 connection), without a client timeout: each call
	// has its own deadline.
	tlsCfg, err := g.tlsConfig()
	if err != nil {
		return err
	}
	cfg.TLS = tlsCfg
	cfg.NewHTTPClient = func() *http.Client {
		return &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsCfg.Clone(), ForceAttemptHTTP2: true}}
	}
	if !c.Quiet {
		cfg.Progress = os.Stderr
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if g.Output == outJSON || g.Output == outYAML {
		return emitValue(g, res)
	}
	return res.WriteText(stdout)
}

func or(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// freshContract creates a customer, a contract on the demo product (or the
// tenant's first product) with no seat limit, a pool of 1,000,000 units of
// each counted feature, and a contract token.
func freshContract(ctx context.Context, g *Globals, demo *DemoFile) (contract, token string, err error) {
	adm, err := g.adminClient()
	if err != nil {
		return "", "", err
	}
	product := ""
	if demo != nil {
		product = demo.ProductID
	}
	if product == "" {
		ps, err := adm.ListProducts(ctx, connect.NewRequest(&v1.ListProductsRequest{}))
		if err != nil {
			return "", "", err
		}
		if len(ps.Msg.Products) == 0 {
			return "", "", errors.New("the tenant has no product")
		}
		product = ps.Msg.Products[0].Id
	}
	fs, err := adm.ListProductFeatures(ctx, connect.NewRequest(&v1.ListProductFeaturesRequest{ProductId: product}))
	if err != nil {
		return "", "", err
	}
	var ents []*v1.Entitlement
	for _, f := range fs.Msg.Features {
		e := &v1.Entitlement{Feature: f.Name}
		if f.Kind == "counted" {
			e.Count = 1_000_000
		}
		ents = append(ents, e)
	}
	cu, err := adm.CreateCustomer(ctx, connect.NewRequest(&v1.CreateCustomerRequest{Name: "Bench fleet"}))
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	cc, err := adm.CreateContract(ctx, connect.NewRequest(&v1.CreateContractRequest{
		CustomerId: cu.Msg.Customer.Id, ProductId: product, Name: "bench",
		StartsAt: timestamppb.New(now), EndsAt: timestamppb.New(now.AddDate(1, 0, 0)), Features: ents,
	}))
	if err != nil {
		return "", "", err
	}
	// A pool as large as the counted features, so that capability cycles
	// measure the server, not a shortage.
	var limits []*v1.PoolFeatureLimit
	for _, e := range ents {
		if e.Count > 0 {
			limits = append(limits, &v1.PoolFeatureLimit{Feature: e.Feature, MaxUnits: e.Count})
		}
	}
	if len(limits) > 0 {
		if _, err := adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{
			CustomerId: cu.Msg.Customer.Id, ContractId: cc.Msg.Contract.Id, Name: "bench", Features: limits,
		})); err != nil {
			return "", "", err
		}
	}
	tk, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: cc.Msg.Contract.Id, Name: "bench fleet"}))
	if err != nil {
		return "", "", err
	}
	return cc.Msg.Contract.Id, tk.Msg.Secret, nil
}

// spawned is a server started by bench --spawn.
type spawned struct {
	cmd      *exec.Cmd
	dir      string
	temp     bool
	demoFile string
	ready    time.Duration
	exited   chan error
}

// spawnServer starts `licensor serve --demo` on a free loopback port and
// waits until it has written its demo file.
func spawnServer(ctx context.Context, dir string, extra []string) (*spawned, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &spawned{dir: dir}
	if dir == "" {
		if s.dir, err = os.MkdirTemp("", "licensor-bench-"); err != nil {
			return nil, err
		}
		s.temp = true
	}
	s.demoFile = filepath.Join(s.dir, "demo.json")
	args := append([]string{"serve", "--demo", "--data", s.dir, "--listen", "127.0.0.1:0", "--metrics-listen", ""}, extra...)
	s.cmd = exec.Command(self, args...)
	logf, err := os.Create(filepath.Join(s.dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	started := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	for {
		if fi, err := os.Stat(s.demoFile); err == nil && !fi.ModTime().Before(started) {
			if _, err := readDemoFile(s.demoFile); err == nil {
				s.ready = time.Since(started)
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("spawned server exited before it was ready (%v); see %s", err, logf.Name())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *spawned) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	if s.temp {
		_ = os.RemoveAll(s.dir)
	}
}
