package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/bench"
)

func TestBenchCommand(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	for _, tc := range []struct {
		name string
		args []string
		want int64
	}{
		{"DemoContract", []string{"bench", "-n", "20", "-c", "2", "--instances", "5"}, 20},
		{"FreshContractOpenLoop", []string{"bench", "refresh", "--fresh-contract", "-n", "30", "--rate", "1000", "--instances", "60"}, 30},
		{"Check", []string{"bench", "check", "-n", "10", "--instances", "5"}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, append(tc.args, "--demo-file", demo, "-q", "-o", "json", "--pid", "0")...)
			if err != nil {
				t.Fatal(err)
			}
			var res bench.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("output is not a JSON result: %v\n%s", err, out)
			}
			if res.Requests != tc.want || res.Successes != tc.want || res.Errors != 0 {
				t.Errorf("got %d requests, %d ok, %d errors (%v); want %d, %d, 0", res.Requests, res.Successes, res.Errors, res.ErrorsByCode, tc.want, tc.want)
			}
		})
	}
}

func TestBenchSeed(t *testing.T) {
	m := startMain(t, true)
	data := m.Config.Data
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	progressOut = &progress
	defer func() { progressOut = os.Stderr }()
	if _, err := runCLI(t, "bench", "seed", "--data", data, "--instances", "300", "--workers", "8", "--progress", "always"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "300 of 300 instances stored") || !strings.Contains(progress.String(), "left") {
		t.Errorf("seed progress: got %q, want the count, the rate and the time left", progress.String())
	}
	m2 := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: data, Demo: true}, Out: &bytes.Buffer{}}
	if err := m2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m2.Close() })
	// Refreshing the seeded instances: each exists, so none takes a new seat.
	out, err := runCLI(t, "bench", "--demo-file", filepath.Join(data, "demo.json"), "--contract-file", filepath.Join(data, "bench-contract.json"),
		"--prefix", "seed-", "--instances", "300", "-n", "300", "-q", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Successes != 300 {
		t.Errorf("refreshes of seeded instances: got %d ok (%v), want 300", res.Successes, res.ErrorsByCode)
	}
	ctx := t.Context()
	var cf struct {
		ContractID string `json:"contract_id"`
		TenantID   string `json:"tenant_id"`
	}
	b, _ := os.ReadFile(filepath.Join(data, "bench-contract.json"))
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	c, err := m2.App.Store().GetContract(withTenant(ctx, cf.TenantID), cf.ContractID)
	if err != nil {
		t.Fatal(err)
	}
	if c.SeatsUsed != 300 {
		t.Errorf("seats used: got %d, want 300", c.SeatsUsed)
	}
}

func withTenant(ctx context.Context, id string) context.Context { return licensor.WithTenant(ctx, id) }

// TestBenchSaveContract: --save-contract writes the fresh contract (0600)
// for other generators to share through --contract-file, and is refused
// without --fresh-contract.
func TestBenchSaveContract(t *testing.T) {
	m := startMain(t, true)
	demo := filepath.Join(m.Config.Data, "demo.json")
	saved := filepath.Join(t.TempDir(), "contract.json")
	run := func(args ...string) bench.Result {
		t.Helper()
		out, err := runCLI(t, append(args, "--demo-file", demo, "-q", "-o", "json", "--pid", "0")...)
		if err != nil {
			t.Fatal(err)
		}
		var res bench.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("output is not a JSON result: %v\n%s", err, out)
		}
		return res
	}
	run("bench", "capabilities", "--fresh-contract", "--save-contract", saved, "-n", "2", "-c", "1")
	fi, err := os.Stat(saved)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("saved contract's mode: got %v, want 0600", fi.Mode().Perm())
	}
	d, err := readDemoFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var orig DemoFile
	if b, err := os.ReadFile(demo); err != nil || json.Unmarshal(b, &orig) != nil {
		t.Fatalf("demo.json: %v", err)
	}
	if d.ContractID == "" || d.Token == "" || d.ContractID == orig.ContractID {
		t.Fatalf("saved contract: got id %q, token set %v; want a fresh contract (the demo's is %q)", d.ContractID, d.Token != "", orig.ContractID)
	}
	if res := run("bench", "capabilities", "--contract-file", saved, "-n", "6", "-c", "2"); res.Successes != 6 || res.Errors != 0 {
		t.Errorf("cycles on the saved contract: got %d ok, %d errors; want 6, 0", res.Successes, res.Errors)
	}
	if _, err := runCLI(t, "bench", "capabilities", "--save-contract", saved, "-n", "1", "--demo-file", demo, "-q"); err == nil || !strings.Contains(err.Error(), "--fresh-contract") {
		t.Errorf("--save-contract without --fresh-contract: got %v, want an error naming --fresh-contract", err)
	}
}
