package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// Run runs the scenario of cfg against its server and reports.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	f, err := newFleet(&cfg)
	if err != nil {
		return nil, err
	}
	defer f.close()
	res := &Result{Scenario: cfg.Scenario}
	var usage *usage
	switch cfg.Scenario {
	case ScenarioSurge:
		usage = startUsage(cfg.PID)
		if err := f.surge(ctx, res); err != nil {
			return nil, err
		}
	case ScenarioAttack:
		return f.attack(ctx, res)
	default:
		var o op
		switch cfg.Scenario {
		case ScenarioRefresh:
			o = f.refresh
		case ScenarioCheck:
			o = f.check
		case ScenarioCapabilities:
			o = f.capabilities
		case ScenarioMixed:
			o = f.mixed
		}
		usage = drive(ctx, &cfg, o, res)
	}
	res.Server = usage.stop(res.Elapsed)
	return res, ctx.Err()
}

// fleet holds the clients the simulated instances share: Conns separate
// HTTP/2 connections, handed out round-robin by sequence number.
type fleet struct {
	cfg   *Config
	conns []rpcs
}

func newFleet(cfg *Config) (*fleet, error) {
	f := &fleet{cfg: cfg}
	for range cfg.Conns {
		c, err := newRPCs(cfg)
		if err != nil {
			f.close()
			return nil, err
		}
		f.conns = append(f.conns, c)
	}
	return f, nil
}

func (f *fleet) close() {
	for _, c := range f.conns {
		_ = c.Close() // the run is over; a close error changes no figure
	}
}

func (f *fleet) conn(seq int64) rpcs { return f.conns[seq%int64(len(f.conns))] }

func (f *fleet) instance(seq int64) string {
	return f.cfg.InstancePrefix + strconv.FormatInt(seq%int64(f.cfg.Instances), 10)
}

// refresh is an instance of the fleet asking for its next license.
func (f *fleet) refresh(ctx context.Context, seq int64) error {
	return f.conn(seq).GetLicense(ctx, &v1.GetLicenseRequest{
		ContractId: f.cfg.ContractID, InstanceId: f.instance(seq),
	})
}

// check is a web application's runtime check: its production URL is the
// instance, and it reports telemetry.
func (f *fleet) check(ctx context.Context, seq int64) error {
	id := f.instance(seq)
	host := id + ".example.com"
	return f.conn(seq).GetLicense(ctx, &v1.GetLicenseRequest{
		ContractId: f.cfg.ContractID, InstanceId: id, Host: host,
		Telemetry: &v1.Telemetry{
			ProductVersion:  "4.2.0",
			RuntimeVersions: map[string]string{"go": "1.26", "postgres": "17.2"},
			Environment:     "production",
			ServerHost:      host,
			ServerIp:        "192.0.2.10",
			ServerPort:      443,
			AppName:         "shop",
			Usage:           map[string]int64{"resources_count": seq % 5000, "users": 42},
		},
	})
}

// errShortage is a capability request the pool could not fill: not an RPC
// error, but not a completed cycle either.
var errShortage = errors.New("capability request denied: pool short")

// capabilities is one request, hold, return cycle of a floating feature.
func (f *fleet) capabilities(ctx context.Context, seq int64) error {
	c := f.conn(seq)
	id := f.instance(seq)
	resp, err := c.RequestCapabilities(ctx, &v1.RequestCapabilitiesRequest{
		ContractId: f.cfg.ContractID, InstanceId: id,
		Capabilities: []*v1.CapabilityUnits{{Feature: f.cfg.Feature, Units: f.cfg.Units}},
	})
	if err != nil {
		return err
	}
	if !resp.Granted || resp.Lease == nil {
		return errShortage
	}
	if f.cfg.Hold > 0 {
		t := time.NewTimer(f.cfg.Hold)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	// Return even if the hold was cut short, and retry a refused return
	// as a client would, so that a run does not leak leases into the pool.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.Timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err = c.ReturnCapabilities(rctx, &v1.ReturnCapabilitiesRequest{
			ContractId: f.cfg.ContractID, InstanceId: id, LeaseId: resp.Lease.Id,
		})
		if err == nil {
			return nil
		}
		wait, retry := f.backoff(attempt, err)
		if !retry || !sleepUntil(rctx, time.Now().Add(wait)) {
			return err
		}
	}
}

// mixed is a fleet doing all three: 8 refreshes, 1 check and 1 capability
// cycle in every 10 operations.
func (f *fleet) mixed(ctx context.Context, seq int64) error {
	switch seq % 10 {
	case 0:
		return f.capabilities(ctx, seq/10)
	case 1:
		return f.check(ctx, seq/10)
	default:
		return f.refresh(ctx, seq)
	}
}

// bearer adds the contract token to every call.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// String formats a duration for reports.
func fmtDur(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func (f *fleet) backoff(attempt int, err error) (time.Duration, bool) {
	return f.cfg.Backoff(attempt, err)
}
