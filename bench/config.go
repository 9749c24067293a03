package bench

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Scenarios the simulator runs.
const (
	ScenarioRefresh      = "refresh"      // instances calling GetLicense
	ScenarioCheck        = "check"        // GetLicense with telemetry: the web-app check
	ScenarioCapabilities = "capabilities" // request units, hold them, return them
	ScenarioSurge        = "surge"        // N instances back at once after an outage
	ScenarioMixed        = "mixed"        // refresh, check and capabilities together
	ScenarioAttack       = "attack"       // refresh, then refresh beside connections that attack the server
)

// Scenarios lists every scenario by name.
var Scenarios = []string{ScenarioRefresh, ScenarioCheck, ScenarioCapabilities, ScenarioSurge, ScenarioMixed, ScenarioAttack}

// Config describes one run.
type Config struct {
	// Server is the base URL, e.g. https://127.0.0.1:7443.
	Server string
	// HTTPClient trusts the server's certificate; one is cloned per
	// connection (Conns) so that load spreads over several TCP connections.
	// NewHTTPClient, if set, is used instead to make each one.
	NewHTTPClient func() *http.Client
	// Conns is how many HTTP/2 connections the fleet shares (default 4).
	Conns int
	// Protocol on the wire: "grpc" (default) or "connect".
	Protocol string
	// Client is the client stack: ClientGRPCGo (the default for gRPC) or
	// ClientConnectGo (the only one for the Connect protocol).
	Client string
	// TLS is the trust the connections use (RootCAs for a self-signed
	// server); nil: the system's. NewHTTPClient, if set, brings its own for
	// connect-go.
	TLS *tls.Config
	// Token is a contract token; ContractID its contract.
	Token      string
	ContractID string

	Scenario string
	// Rate, if > 0, is the open-loop arrival rate per second; Concurrency
	// then bounds the calls in flight (default 512). Otherwise the run is
	// closed-loop with Concurrency workers (default 16).
	Rate        float64
	Concurrency int
	// Duration and/or Requests bound the run (at least one is required,
	// except for surge, which is bounded by its instances and deadline).
	Duration time.Duration
	Requests int64
	// Warmup, if > 0, runs the scenario at the same pace for this long
	// before anything is counted (new instances take their seats, caches
	// fill, connections open); Duration and Requests count after it.
	Warmup time.Duration
	// Timeout bounds each call (default 10 s).
	Timeout time.Duration
	// Instances is how many distinct instance ids the refresh and check
	// scenarios cycle through (default 1,000); InstancePrefix names them.
	Instances      int
	InstancePrefix string

	// Capabilities: Feature and Units requested per cycle, held for Hold.
	Feature string
	Units   int64
	Hold    time.Duration

	// Surge: SurgeInstances arrive spread uniformly over SurgeWindow, each
	// retrying with Backoff until it is licensed or SurgeDeadline (counted
	// from the start of the surge) passes; Concurrency (default 512)
	// bounds the calls in flight.
	SurgeInstances int
	SurgeWindow    time.Duration
	SurgeDeadline  time.Duration
	// Backoff decides the wait before a flow's next attempt (a surge's
	// GetLicense, a capability cycle's return); nil: the client library's
	// policy (DefaultBackoff).
	Backoff Backoff

	// Attack: the refresh load runs for Duration alone, then for Duration
	// again beside AttackSlow slow-body and AttackIdle idle connections
	// without a token (attack.go), each redialling about AttackInterval
	// (default 2 s) after the server closes it, from AttackAddrs loopback
	// addresses (default 64).
	AttackSlow     int
	AttackIdle     int
	AttackInterval time.Duration
	AttackAddrs    int

	// PID, if > 0, is a local server process whose CPU time and peak RSS
	// are reported (from /proc).
	PID int

	// Progress, if set, receives a live progress line every ProgressEvery
	// (default 1 s).
	Progress      io.Writer
	ProgressEvery time.Duration
}

func (c *Config) defaults() error {
	if c.Server == "" {
		return errors.New("bench: no server address")
	}
	if c.Token == "" || c.ContractID == "" {
		return errors.New("bench: a contract token and its contract id are required")
	}
	if c.Scenario == "" {
		c.Scenario = ScenarioRefresh
	}
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	if !known {
		return fmt.Errorf("bench: unknown scenario %q (one of %v)", c.Scenario, Scenarios)
	}
	if c.Protocol == "" {
		c.Protocol = "grpc"
	}
	if c.Protocol != "grpc" && c.Protocol != "connect" {
		return fmt.Errorf("bench: protocol %q: use grpc or connect", c.Protocol)
	}
	switch {
	case c.Client == "" && c.Protocol == "grpc":
		c.Client = ClientGRPCGo
	case c.Client == "":
		c.Client = ClientConnectGo
	case c.Client != ClientGRPCGo && c.Client != ClientConnectGo:
		return fmt.Errorf("bench: client %q: use %s or %s", c.Client, ClientGRPCGo, ClientConnectGo)
	case c.Client == ClientGRPCGo && c.Protocol != "grpc":
		return fmt.Errorf("bench: client %s speaks only gRPC, not %s", ClientGRPCGo, c.Protocol)
	}
	if c.Rate < 0 || c.Concurrency < 0 || c.Requests < 0 || c.Duration < 0 || c.Warmup < 0 {
		return errors.New("bench: rate, concurrency, requests, duration and warm-up must not be negative")
	}
	if c.Warmup > 0 && c.Scenario == ScenarioSurge {
		return errors.New("bench: a surge has no warm-up: its start is what it measures")
	}
	if c.Concurrency == 0 {
		c.Concurrency = 16
		if c.Rate > 0 || c.Scenario == ScenarioSurge {
			c.Concurrency = 512
		}
	}
	if c.Conns <= 0 {
		c.Conns = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Instances <= 0 {
		c.Instances = 1000
	}
	if c.InstancePrefix == "" {
		c.InstancePrefix = "bench-"
	}
	if c.Feature == "" {
		c.Feature = "solver"
	}
	if c.Units <= 0 {
		c.Units = 1
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff()
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.Scenario == ScenarioAttack {
		if c.AttackInterval <= 0 {
			c.AttackInterval = 2 * time.Second
		}
		if c.AttackAddrs <= 0 {
			c.AttackAddrs = 64
		}
		if c.AttackSlow < 0 || c.AttackIdle < 0 || c.AttackAddrs > 250*250 {
			return errors.New("bench: attackers must not be negative, and at most 62500 source addresses")
		}
		if c.Duration <= 0 {
			return errors.New("bench: an attack run needs a duration (each of its two phases runs that long)")
		}
	}
	if c.Scenario == ScenarioSurge {
		if c.SurgeInstances <= 0 {
			c.SurgeInstances = 1000
		}
		if c.SurgeWindow < 0 {
			return errors.New("bench: surge window must not be negative")
		}
		if c.SurgeDeadline <= 0 {
			c.SurgeDeadline = 60 * time.Second
		}
		return nil
	}
	if c.Duration == 0 && c.Requests == 0 {
		return errors.New("bench: give a duration or a number of requests to bound the run")
	}
	return nil
}

// Latency summarizes a latency distribution, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// ServerUsage is what a local server process used during the run.
type ServerUsage struct {
	PID int `json:"pid"`
	// CPUSeconds is user+system CPU time spent during the run; CPUCores
	// that divided by the run's wall time.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores"`
	// PeakRSSBytes is the process's high-water mark (VmHWM): over its whole
	// life, not only this run. RSSBytes is the resident size at the end.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	RSSBytes     int64 `json:"rss_bytes"`
}

// SurgeResult counts the flows of a surge.
type SurgeResult struct {
	Instances int `json:"instances"`
	// Licensed got a license before the deadline; Failed gave up (the
	// back-off said stop, or a non-retryable error) or hit the deadline.
	Licensed int64 `json:"licensed"`
	Failed   int64 `json:"failed"`
	// Attempts counts every call; Refused those refused by the tenant's
	// concurrency threshold (RESOURCE_EXHAUSTED).
	Attempts int64 `json:"attempts"`
	Refused  int64 `json:"refused"`
	// AllLicensedAfter is when the last flow succeeded, from the start of
	// the surge (0 if not every flow did).
	AllLicensedAfter time.Duration `json:"all_licensed_after_ns"`
	// FlowLatency is the distribution of time from an instance's arrival
	// to its license, retries included.
	FlowLatency Latency `json:"flow_latency"`
}

// Result is the report of one run.
type Result struct {
	Scenario    string  `json:"scenario"`
	Mode        string  `json:"mode"` // "open" or "closed"
	Rate        float64 `json:"target_rate,omitempty"`
	Concurrency int     `json:"concurrency"`
	// Warmup ran before Elapsed started and is in no figure.
	Warmup  time.Duration `json:"warmup_ns,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Requests = Successes + Errors; a request is one measured operation
	// (one call, or one request+hold+return cycle).
	Requests     int64            `json:"requests"`
	Successes    int64            `json:"successes"`
	Errors       int64            `json:"errors"`
	ErrorsByCode map[string]int64 `json:"errors_by_code,omitempty"`
	// Refusals are errors with RESOURCE_EXHAUSTED: the tenant's
	// concurrency threshold (or an exhausted pool).
	Refusals int64 `json:"refusals"`
	// Throughput is successful operations per second of wall time.
	Throughput float64      `json:"throughput_per_s"`
	Latency    Latency      `json:"latency"`
	Surge      *SurgeResult `json:"surge,omitempty"`
	// Attack holds the figures without the attack, for comparison.
	Attack *AttackResult `json:"attack,omitempty"`
	Server *ServerUsage  `json:"server,omitempty"`
}
