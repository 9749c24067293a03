package metrics_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/buildinfo"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/metrics"
)

// /metrics scraped after some traffic shows the expected series.
func TestScrapeAfterTraffic(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour, MaxSeats: 5})
	lic := s.License(testserver.GRPC, f.ContractToken)
	for range 3 {
		if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})); err != nil {
			t.Fatalf("GetLicense: %v", err)
		}
	}
	// A refused call: wrong contract id for this token.
	if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: "con_other", InstanceId: "node-1"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("GetLicense of another contract: got %v, want permission_denied", err)
	}
	// A failing webhook attempt and a scan.
	adm := s.Admin(testserver.Connect, f.AdminToken)
	if _, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "http://127.0.0.1:1/unreachable"})); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if err := s.Scanner.ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Dispatcher.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: got %d, %v; want 1", n, err)
	}
	s.Metrics.ThresholdRefused(f.TenantID)

	res, err := http.Get(s.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200", res.StatusCode)
	}
	body := string(b)
	for _, want := range []string{
		`licensor_requests_total{code="ok",method="GetLicense",service="licensor.v1.LicenseService"} 3`,
		`licensor_requests_total{code="permission_denied",method="GetLicense",service="licensor.v1.LicenseService"} 1`,
		`licensor_requests_total{code="ok",method="CreateContract",service="licensor.v1.AdminService"} 1`,
		`licensor_request_duration_seconds_count{method="GetLicense",service="licensor.v1.LicenseService"} 4`,
		`licensor_licenses_issued_total{method="GetLicense"} 3`,
		`licensor_instances_by_license_days_left{days_left="14-30",tenant="` + f.TenantID + `"} 1`,
		`licensor_instances_by_license_days_left{days_left="7-14",tenant="` + f.TenantID + `"} 0`,
		`licensor_alerts_open{level="30d",tenant="` + f.TenantID + `",type="contract.ending"} 1`,
		`licensor_webhook_delivery_attempts_total{outcome="failure",tenant="` + f.TenantID + `"} 1`,
		`licensor_threshold_refusals_total{tenant="` + f.TenantID + `"} 1`,
		`licensor_seats_in_use{seats="capped",tenant="` + f.TenantID + `"} 1`,
		`licensor_seats_in_use{seats="unlimited",tenant="` + f.TenantID + `"} 0`,
		`licensor_seats_max{tenant="` + f.TenantID + `"} 5`,
		// Every contract-token call passed the threshold, the refused one too.
		`licensor_threshold_wait_seconds_count 4`,
		// The contract.ending alert's delivery, pending at the scan.
		`licensor_webhook_deliveries_pending{tenant="` + f.TenantID + `"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics: missing %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grep(body, "licensor_"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRegisterLeasesInUse(t *testing.T) {
	m := metrics.New(metrics.Config{})
	if err := m.RegisterLeasesInUse(func(context.Context) ([]metrics.PoolLeases, error) {
		return []metrics.PoolLeases{{TenantID: "ten_1", PoolID: "pool_1", Feature: "solver", InUse: 7, Max: 50}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "licensor_pool_") {
			got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if got["licensor_pool_leases_in_use"] != 7 || got["licensor_pool_units_max"] != 50 {
		t.Fatalf("pool gauges: got %v, want in_use 7, max 50", got)
	}
}

// licensor_build_info names the running build with buildinfo's values.
func TestBuildInfo(t *testing.T) {
	m := metrics.New(metrics.Config{})
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	bi := buildinfo.Read()
	want := map[string]string{"version": bi.Version, "commit": bi.Commit, "goversion": bi.GoVersion}
	for _, mf := range mfs {
		if mf.GetName() != "licensor_build_info" {
			continue
		}
		if len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Fatalf("licensor_build_info: got %v, want one series of value 1", mf.GetMetric())
		}
		got := map[string]string{}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("label %s: got %q, want %q", k, got[k], v)
			}
		}
		return
	}
	t.Fatal("licensor_build_info: not registered")
}
