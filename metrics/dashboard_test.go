package metrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/metrics"
)

// dashboardExprs returns every query of deploy/grafana/licensor.json, the
// template variables' too.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/licensor.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("licensor.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	return exprs
}

var seriesName = regexp.MustCompile(`\blicensor_[a-z0-9_]+`)

// Every metric the dashboard queries is one the server serves: scraped
// from a test server after traffic that makes each series appear.
func TestDashboardMetricsExist(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
	if _, err := s.License(testserver.GRPC, f.ContractToken).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})); err != nil {
		t.Fatalf("GetLicense: %v", err)
	}
	adm := s.Admin(testserver.Connect, f.AdminToken)
	if _, err := adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID, ContractId: f.ContractID,
		Name: "main", Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 5}}})); err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	if _, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "http://127.0.0.1:1/unreachable"})); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if err := s.Scanner.ScanOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dispatcher.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	s.Metrics.ThresholdRefused(f.TenantID)
	// A delivery given up after 25 hours, and one to a refused address.
	s.Metrics.DeliveryAttempted(metrics.Delivery{TenantID: f.TenantID, GaveUp: true, Latency: time.Second})
	s.Metrics.DeliveryAttempted(metrics.Delivery{TenantID: f.TenantID, Refused: true})
	// PostgreSQL's lock waits: registered by the server for that store
	// only, and this test server's is SQLite.
	if err := s.Metrics.RegisterLockWaits(func() []metrics.LockWait { return []metrics.LockWait{{Kind: "pool"}} }); err != nil {
		t.Fatal(err)
	}

	res, err := http.Get(s.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	served := map[string]bool{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		served[name] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	exprs := dashboardExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("dashboard queries: got %d, want the whole dashboard", len(exprs))
	}
	for _, e := range exprs {
		for _, name := range seriesName.FindAllString(e, -1) {
			if !served[name] {
				t.Errorf("dashboard queries %s (in %q): not served by /metrics", name, e)
			}
		}
	}
}
