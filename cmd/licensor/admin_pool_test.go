package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// TestDemoPoolCommands: the demo has a pool (solver 50, gpu-export 5) that
// the demo token checks out of, and the pool commands show it.
func TestDemoPoolCommands(t *testing.T) {
	m := startMain(t, true)
	d := m.Demo
	if d.PoolID == "" {
		t.Fatal("demo.json: got no pool_id")
	}
	demo := filepath.Join(m.Config.Data, "demo.json")
	cc := licensorv1connect.NewCapabilityServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(), connect.WithInterceptors(bearer.Token(d.Token)))
	res, err := cc.RequestCapabilities(context.Background(), connect.NewRequest(&v1.RequestCapabilitiesRequest{
		ContractId: d.ContractID, InstanceId: "demo-1", Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: 3}}}))
	if err != nil || !res.Msg.Granted {
		t.Fatalf("RequestCapabilities with the demo: got %v, %v; want a grant", res, err)
	}
	lease := res.Msg.Lease.Id

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"pool", "list"}, "solver=3/50"},
		{[]string{"pool", "show", d.PoolID}, lease},
		{[]string{"pool", "leases", "--contract", d.ContractID, "--instance", "demo-1"}, "solver=3"},
		{[]string{"pool", "resize", d.PoolID, "-f", "solver=60"}, "solver=3/60"},
		{[]string{"pool", "resize", d.PoolID, "--express", "on"}, "15m        true     0"},
		{[]string{"pool", "resize", d.PoolID, "-f", "solver=60", "--overdraft", "solver=5"}, "solver=3/60+5"},
		{[]string{"pool", "usage", d.PoolID}, "solver"},
		{[]string{"pool", "reserve", d.PoolID, "-f", "gpu-export", "--instance", "vip", "--units", "2"}, "gpu-export  vip       2         0     2"},
		{[]string{"pool", "show", d.PoolID}, "UNUSED"},
		{[]string{"pool", "usage", d.PoolID}, "PEAK OVERAGE"},
		{[]string{"pool", "release-lease", lease}, "released"},
		{[]string{"pool", "create", "--customer", d.CustomerID, "-f", "gpu-export=10", "--lease-ttl", "30m"}, "gpu-export=0/10"},
		{[]string{"pool", "create", "--customer", d.CustomerID, "-f", "gpu-export=10", "--overdraft", "gpu-export=2"}, "gpu-export=0/10+2"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:2], "-"), func(t *testing.T) {
			out, err := runCLI(t, append([]string{"admin", "--demo-file", demo}, c.args...)...)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("got output %q, want it to contain %q", out, c.want)
			}
		})
	}
	if _, err := runCLI(t, "admin", "--demo-file", demo, "pool", "create", "--customer", d.CustomerID, "-f", "gpu-export"); err == nil {
		t.Error("pool create with a feature without a maximum: got no error, want one")
	}
}
