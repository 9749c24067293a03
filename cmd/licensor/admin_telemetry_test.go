package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// TestAdminTelemetryCommands: history, summary, export as CSV and JSON and
// settings, against serve --demo with two reporting instances.
func TestAdminTelemetryCommands(t *testing.T) {
	m := startMain(t, true)
	d := m.Demo
	demo := filepath.Join(m.Config.Data, "demo.json")
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(), connect.WithInterceptors(bearer.Token(d.Token)))
	for i, inst := range []string{"node-a", "node-b"} {
		for n := range 2 {
			_, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: inst,
				Telemetry: &v1.Telemetry{ProductVersion: "1.2.0", Environment: "production", ServerIp: "198.51.100.20",
					Usage: map[string]int64{"resources_count": int64(10*(i+1) + n)}, Labels: map[string]string{"note": "a,b \"quoted\""}}}))
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	out, err := runCLI(t, "admin", "--demo-file", demo, "telemetry", "history", "--contract", d.ContractID, "--instance", "node-b", "--counter", "resources_count")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "RESOURCES_COUNT") || !strings.Contains(out, " 20\n") || !strings.Contains(out, " 21\n") {
		t.Errorf("history: got\n%s\nwant node-b's resources_count 20 then 21", out)
	}

	out, err = runCLI(t, "admin", "--demo-file", demo, "telemetry", "summary")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"product version  1.2.0", "counter          resources_count  2          32   21"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary: got\n%s\nwant a line with %q", out, want)
		}
	}

	csvFile := filepath.Join(t.TempDir(), "t.csv")
	if _, err := runCLI(t, "admin", "--demo-file", demo, "telemetry", "export", "--format", "csv", "--counter", "resources_count", "-O", csvFile); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(csvFile)
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, raw)
	}
	if len(recs) != 5 || recs[0][len(recs[0])-1] != "usage.resources_count" || recs[4][len(recs[4])-1] != "21" {
		t.Errorf("csv: got %d records %v, want a header and 4 points ending in the counter column", len(recs), recs)
	}
	if len(recs) > 1 && recs[1][11] != `{"note":"a,b \"quoted\""}` {
		t.Errorf("csv labels cell: got %q, want the labels as JSON", recs[1][11])
	}

	out, err = runCLI(t, "admin", "--demo-file", demo, "telemetry", "export", "--format", "json", "--latest")
	if err != nil {
		t.Fatal(err)
	}
	var latest []exportRecord
	if err := json.Unmarshal([]byte(out), &latest); err != nil {
		t.Fatalf("json export: %v\n%s", err, out)
	}
	if len(latest) != 2 || latest[1].InstanceID != "node-b" || latest[1].Telemetry.Usage["resources_count"] != 21 {
		t.Errorf("latest: got %+v, want node-a and node-b with their last counters", latest)
	}

	out, err = runCLI(t, "admin", "--demo-file", demo, "telemetry", "settings", "--retention", "30d", "--drop", "labels,server_ip", "--truncate-ips")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "30d") || !strings.Contains(out, "labels,server_ip") || !strings.Contains(out, "true") {
		t.Errorf("settings: got\n%s\nwant 30d, labels,server_ip, true", out)
	}
	out, err = runCLI(t, "admin", "--demo-file", demo, "telemetry", "settings", "--drop", "none", "--no-truncate-ips")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "false") || strings.Contains(out, "labels") || !strings.Contains(out, "30d") {
		t.Errorf("settings reset: got\n%s\nwant 30d kept, no dropped fields, false", out)
	}
	_, err = runCLI(t, "admin", "--demo-file", demo, "telemetry", "settings", "--drop", "passwords")
	if err == nil || !strings.Contains(err.Error(), "INVALID_ARGUMENT") {
		t.Errorf("unknown field: got %v, want an INVALID_ARGUMENT error", err)
	}
}
