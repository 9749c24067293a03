package bench_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor/bench"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// small returns a config for a small run against an in-process server.
func small(t *testing.T, scenario string) bench.Config {
	t.Helper()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	if scenario == bench.ScenarioCapabilities || scenario == bench.ScenarioMixed {
		_, err := s.Admin(testserver.GRPC, f.AdminToken).CreatePool(context.Background(), connect.NewRequest(&v1.CreatePoolRequest{
			CustomerId: f.CustomerID, ContractId: f.ContractID, Name: "bench",
			Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 50}},
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	return bench.Config{
		Server: s.URL, NewHTTPClient: func() *http.Client { return s.HTTPClient() }, Conns: 2,
		TLS:   &tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS12},
		Token: f.ContractToken, ContractID: f.ContractID, Scenario: scenario,
		Instances: 7, PID: os.Getpid(),
	}
}

// stacks are the client stacks and protocols a fleet can speak.
var stacks = []struct{ name, client, protocol string }{
	{"GRPCGo", bench.ClientGRPCGo, "grpc"},
	{"ConnectGoGRPC", bench.ClientConnectGo, "grpc"},
	{"ConnectGoConnect", bench.ClientConnectGo, "connect"},
}

func TestRunCounts(t *testing.T) {
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) { testRunCounts(t, st.client, st.protocol) })
	}
}

func testRunCounts(t *testing.T, client, protocol string) {
	for _, tc := range []struct {
		name        string
		scenario    string
		rate        float64
		concurrency int
		requests    int64
	}{
		{"RefreshClosedLoop", bench.ScenarioRefresh, 0, 4, 60},
		{"RefreshOpenLoop", bench.ScenarioRefresh, 2000, 8, 40},
		{"Check", bench.ScenarioCheck, 0, 3, 25},
		{"Mixed", bench.ScenarioMixed, 0, 4, 30},
		{"Capabilities", bench.ScenarioCapabilities, 0, 2, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := small(t, tc.scenario)
			cfg.Client, cfg.Protocol = client, protocol
			cfg.Rate, cfg.Concurrency, cfg.Requests = tc.rate, tc.concurrency, tc.requests
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != tc.requests {
				t.Errorf("requests: got %d, want %d", res.Requests, tc.requests)
			}
			if res.Successes+res.Errors != res.Requests {
				t.Errorf("successes %d + errors %d: got %d, want %d", res.Successes, res.Errors, res.Successes+res.Errors, res.Requests)
			}
			var byCode int64
			for _, n := range res.ErrorsByCode {
				byCode += n
			}
			if byCode != res.Errors {
				t.Errorf("errors by code sum: got %d, want %d (%v)", byCode, res.Errors, res.ErrorsByCode)
			}
			if res.Latency.Count != res.Requests {
				t.Errorf("latency samples: got %d, want %d", res.Latency.Count, res.Requests)
			}
			if res.Errors != 0 {
				t.Errorf("errors: got %d (%v), want 0", res.Errors, res.ErrorsByCode)
			}
			if res.Server == nil || res.Server.PeakRSSBytes <= 0 {
				t.Errorf("server usage of our own pid: got %+v, want a peak RSS", res.Server)
			}
		})
	}
}

func TestRunByDuration(t *testing.T) {
	cfg := small(t, bench.ScenarioRefresh)
	cfg.Duration, cfg.Concurrency = 200*time.Millisecond, 2
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Successes+res.Errors != res.Requests || res.Requests == 0 {
		t.Errorf("got %d requests = %d ok + %d errors, want a positive sum that adds up", res.Requests, res.Successes, res.Errors)
	}
}

// Operations during the warm-up run but are in no figure: the request
// bound and the latency samples count only what follows it.
func TestRunWarmup(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
	}{{"ClosedLoop", 0}, {"OpenLoop", 400}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := small(t, bench.ScenarioRefresh)
			cfg.Rate, cfg.Concurrency, cfg.Requests, cfg.Warmup = tc.rate, 2, 15, 150*time.Millisecond
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 15 || res.Latency.Count != 15 || res.Successes != 15 {
				t.Errorf("got %d requests, %d latency samples, %d ok: want 15 each", res.Requests, res.Latency.Count, res.Successes)
			}
			if res.Warmup != cfg.Warmup {
				t.Errorf("warm-up: got %v, want %v", res.Warmup, cfg.Warmup)
			}
			if res.Server == nil {
				t.Error("no server usage after the warm-up")
			}
		})
	}
}

func TestSurgeLicensesEveryInstance(t *testing.T) {
	cfg := small(t, bench.ScenarioSurge)
	cfg.SurgeInstances, cfg.SurgeWindow, cfg.SurgeDeadline = 40, 50*time.Millisecond, time.Minute
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Surge
	if s == nil {
		t.Fatal("no surge result")
	}
	if s.Licensed != 40 || s.Failed != 0 {
		t.Errorf("licensed %d, failed %d: want 40 and 0 (errors %v)", s.Licensed, s.Failed, res.ErrorsByCode)
	}
	if s.Attempts != res.Requests || s.Attempts < 40 {
		t.Errorf("attempts: got %d, want %d (requests) and at least 40", s.Attempts, res.Requests)
	}
	if s.AllLicensedAfter <= 0 {
		t.Errorf("all licensed after: got %v, want > 0", s.AllLicensedAfter)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  bench.Config
	}{
		{"NoServer", bench.Config{Token: "t", ContractID: "c", Requests: 1}},
		{"NoToken", bench.Config{Server: "https://127.0.0.1:1", ContractID: "c", Requests: 1}},
		{"NoBound", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c"}},
		{"UnknownScenario", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c", Requests: 1, Scenario: "storm"}},
		{"NegativeRate", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c", Requests: 1, Rate: -1}},
		{"SurgeWarmup", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c", Scenario: bench.ScenarioSurge, Warmup: time.Second}},
		{"NegativeWarmup", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c", Requests: 1, Warmup: -time.Second}},
		{"UnknownClient", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c", Requests: 1, Client: "curl"}},
		{"GRPCGoSpeaksNoConnect", bench.Config{Server: "https://127.0.0.1:1", Token: "t", ContractID: "c", Requests: 1, Client: bench.ClientGRPCGo, Protocol: "connect"}},
		{"GRPCGoNoPathPrefix", bench.Config{Server: "https://127.0.0.1:1/licensor", Token: "t", ContractID: "c", Requests: 1, Client: bench.ClientGRPCGo}},
		{"GRPCGoNeedsTLS", bench.Config{Server: "http://127.0.0.1:1", Token: "t", ContractID: "c", Requests: 1, Client: bench.ClientGRPCGo}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bench.Run(context.Background(), tc.cfg); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}
