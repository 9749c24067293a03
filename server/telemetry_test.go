package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

func fullTelemetry(resources int64) *v1.Telemetry {
	return &v1.Telemetry{
		ProductVersion: "3.1.0", RuntimeVersions: map[string]string{"node": "22.4.0", "postgres": "16.3"},
		Environment: "production", ServerHost: "web-1.internal", ServerIp: "203.0.113.77", ServerPort: 8443, AppName: "shop",
		Usage:  map[string]int64{"resources_count": resources, "fields_per_resource": 12},
		Labels: map[string]string{"region": "eu-west", "tier": "gold"},
	}
}

func report(ctx context.Context, s *testserver.Server, p testserver.Protocol, f *testserver.Fixture, instance string, tel *v1.Telemetry) error {
	_, err := s.License(p, f.ContractToken).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: instance, Telemetry: tel}))
	return err
}

func history(ctx context.Context, t *testing.T, s *testserver.Server, p testserver.Protocol, f *testserver.Fixture, req *v1.GetTelemetryHistoryRequest) []*v1.TelemetryPoint {
	t.Helper()
	req.ContractId = f.ContractID
	res, err := s.Admin(p, f.AdminToken).GetTelemetryHistory(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatalf("GetTelemetryHistory: %v", err)
	}
	return res.Msg.Points
}

// TestTelemetryRoundTrip: what an instance reports comes back from
// GetInstance, ListInstances, the history (a counter over time, paged) and
// the fleet summary.
func TestTelemetryRoundTrip(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			start := s.Clock.Now()
			for i := range 4 {
				if err := report(ctx, s, p, f, "node-a", fullTelemetry(int64(100*(i+1)))); err != nil {
					t.Fatalf("report %d: %v", i, err)
				}
				s.Clock.Advance(6 * time.Hour)
			}
			staging := fullTelemetry(5)
			staging.Environment, staging.ProductVersion = "staging", "3.2.0-rc1"
			if err := report(ctx, s, p, f, "node-b", staging); err != nil {
				t.Fatal(err)
			}
			gi, err := adm.GetInstance(ctx, connect.NewRequest(&v1.GetInstanceRequest{ContractId: f.ContractID, InstanceId: "node-a"}))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := gi.Msg.Instance.Telemetry, fullTelemetry(400); !proto.Equal(got, want) {
				t.Errorf("GetInstance telemetry: got %v, want %v", got, want)
			}
			list := listInstances(ctx, t, s, p, f)
			if len(list) != 2 || !proto.Equal(list[1].Telemetry, staging) {
				t.Errorf("ListInstances: got %v, want node-a and node-b with node-b's staging telemetry", list)
			}

			// The counter over time, two points a page.
			var counts []int64
			var token string
			for range 5 {
				res, err := adm.GetTelemetryHistory(ctx, connect.NewRequest(&v1.GetTelemetryHistoryRequest{
					ContractId: f.ContractID, InstanceId: "node-a", PageSize: 2, PageToken: token}))
				if err != nil {
					t.Fatal(err)
				}
				for _, pt := range res.Msg.Points {
					counts = append(counts, pt.Telemetry.Usage["resources_count"])
				}
				if token = res.Msg.NextPageToken; token == "" {
					break
				}
			}
			if want := []int64{100, 200, 300, 400}; !slices.Equal(counts, want) {
				t.Errorf("resources_count over time: got %v, want %v", counts, want)
			}
			// A time range: the two middle reports.
			mid := history(ctx, t, s, p, f, &v1.GetTelemetryHistoryRequest{InstanceId: "node-a",
				Since: timestamppb.New(start.Add(6 * time.Hour)), Until: timestamppb.New(start.Add(18 * time.Hour))})
			if len(mid) != 2 || mid[0].Telemetry.Usage["resources_count"] != 200 || !mid[0].At.AsTime().Equal(start.Add(6*time.Hour)) {
				t.Errorf("history in [6h, 18h): got %v, want the reports at 6h and 12h", mid)
			}
			if all := history(ctx, t, s, p, f, &v1.GetTelemetryHistoryRequest{}); len(all) != 5 {
				t.Errorf("contract history: got %d points, want 5", len(all))
			}

			fs, err := adm.GetFleetSummary(ctx, connect.NewRequest(&v1.GetFleetSummaryRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			want := &v1.GetFleetSummaryResponse{
				Instances:       2,
				ProductVersions: []*v1.CountByValue{{Value: "3.1.0", Instances: 1}, {Value: "3.2.0-rc1", Instances: 1}},
				Environments:    []*v1.CountByValue{{Value: "production", Instances: 1}, {Value: "staging", Instances: 1}},
				RuntimeVersions: []*v1.CountByValue{{Value: "node 22.4.0", Instances: 2}, {Value: "postgres 16.3", Instances: 2}},
				Counters: []*v1.CounterSummary{
					{Name: "fields_per_resource", Sum: 24, Max: 12, Instances: 2},
					{Name: "resources_count", Sum: 405, Max: 400, Instances: 2},
				},
			}
			if !proto.Equal(fs.Msg, want) {
				t.Errorf("fleet summary: got %v, want %v", fs.Msg, want)
			}
		})
	}
}

// TestTelemetryBounds: every malformed or oversized check is
// INVALID_ARGUMENT and stores nothing: no instance, no history, no seat, and
// an existing instance's latest telemetry is unchanged.
func TestTelemetryBounds(t *testing.T) {
	many := func(n, size int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%03d", i)] = strings.Repeat("x", size)
		}
		return m
	}
	with := func(edit func(*v1.Telemetry)) *v1.Telemetry {
		tel := fullTelemetry(1)
		edit(tel)
		return tel
	}
	cases := []struct {
		name     string
		instance string // "" is a fresh production URL
		tel      *v1.Telemetry
		mention  string
	}{
		{"TooManyLabels", "", with(func(t *v1.Telemetry) { t.Labels = many(65, 1) }), "limit is 64"},
		{"TooManyRuntimes", "", with(func(t *v1.Telemetry) { t.RuntimeVersions = many(65, 1) }), "limit is 64"},
		{"KeyTooLong", "", with(func(t *v1.Telemetry) { t.Usage = map[string]int64{strings.Repeat("k", 65): 1} }), "limit is 64"},
		{"ValueTooLong", "", with(func(t *v1.Telemetry) { t.AppName = strings.Repeat("a", 257) }), "limit is 256"},
		{"Oversized", "", with(func(t *v1.Telemetry) { t.Labels = many(40, 250) }), "limit is 8192"},
		{"NegativeCounter", "", with(func(t *v1.Telemetry) { t.Usage["resources_count"] = -5 }), "negative"},
		{"UnknownEnvironment", "", with(func(t *v1.Telemetry) { t.Environment = "prod" }), "environment"},
		{"BadIP", "", with(func(t *v1.Telemetry) { t.ServerIp = "10.0.0.300" }), "server_ip"},
		{"PortTooBig", "", with(func(t *v1.Telemetry) { t.ServerPort = 70000 }), "65535"},
		{"ControlCharacters", "", with(func(t *v1.Telemetry) { t.ServerHost = "web\x00" }), "control"},
		{"MalformedURL", "https://[::1", fullTelemetry(1), "parse"},
		{"URLWithCredentials", "https://user:pw@shop.example.com", fullTelemetry(1), "credentials"},
		{"URLWithPath", "https://shop.example.com/admin", fullTelemetry(1), "path"},
		{"URLWithQuery", "https://shop.example.com/?utm=1", fullTelemetry(1), "query"},
		{"URLNotHTTP", "ftp://shop.example.com", fullTelemetry(1), "http or https"},
		{"URLWithoutScheme", "shop.example.com", fullTelemetry(1), "scheme"},
	}
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 5)
			const held = "https://held.example.com"
			if err := report(ctx, s, p, f, held, fullTelemetry(7)); err != nil {
				t.Fatal(err)
			}
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					instance := c.instance
					if instance == "" {
						instance = fmt.Sprintf("https://site-%d.example.com", i)
					}
					for _, id := range []string{instance, held} {
						if id == held && c.instance != "" {
							continue // the URL is the bad input: nothing to try on the held one
						}
						err := report(ctx, s, p, f, id, c.tel)
						if got := connect.CodeOf(err); got != connect.CodeInvalidArgument {
							t.Fatalf("%s: got %v (%v), want invalid_argument", id, got, err)
						}
						if msg := err.(*connect.Error).Message(); !strings.Contains(msg, c.mention) {
							t.Errorf("message: got %q, want it to mention %q", msg, c.mention)
						}
					}
				})
			}
			instances := listInstances(ctx, t, s, p, f)
			if len(instances) != 1 || instances[0].InstanceId != held || !proto.Equal(instances[0].Telemetry, fullTelemetry(7)) {
				t.Errorf("instances after bad input: got %v, want only %s with its first telemetry", instances, held)
			}
			if pts := history(ctx, t, s, p, f, &v1.GetTelemetryHistoryRequest{}); len(pts) != 1 {
				t.Errorf("history after bad input: got %d points, want 1", len(pts))
			}
			if got := seatsUsed(ctx, t, s, f); got != 1 {
				t.Errorf("seats used after bad input: got %d, want 1", got)
			}
		})
	}
}

// TestTelemetryDeeplyNested: the Connect protocol's JSON cannot smuggle
// nested objects into telemetry: the request is INVALID_ARGUMENT and
// stores nothing. (Over gRPC, protobuf maps cannot nest at all.)
func TestTelemetryDeeplyNested(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	nested := strings.Repeat(`{"a":`, 200) + `"x"` + strings.Repeat(`}`, 200)
	for _, c := range []struct{ name, telemetry string }{
		{"NestedLabel", `{"labels":{"deep":` + nested + `}}`},
		{"NestedUsage", `{"usage":{"resources_count":{"n":1}}}`},
		{"NestedRoot", `{"product_version":` + nested + `}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := `{"contract_id":"` + f.ContractID + `","instance_id":"nested","telemetry":` + c.telemetry + `}`
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/licensor.v1.LicenseService/GetLicense", bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.ContractToken)
			res, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var e struct{ Code string }
			_ = jsonDecode(res, &e)
			if res.StatusCode != http.StatusBadRequest || e.Code != "invalid_argument" {
				t.Errorf("got %d %q, want 400 invalid_argument", res.StatusCode, e.Code)
			}
		})
	}
	if got := listInstances(ctx, t, s, testserver.GRPC, f); len(got) != 0 {
		t.Errorf("instances: got %v, want none", got)
	}
}

// TestTelemetryNeverHoldsTheToken: the bearer token is never stored, even
// when an application puts it into its telemetry by mistake: such values
// are redacted, and a key carrying one is refused.
func TestTelemetryNeverHoldsTheToken(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			tel := fullTelemetry(1)
			tel.Labels["env_dump"] = "LICENSOR_TOKEN=" + f.ContractToken
			tel.AppName = f.ContractToken
			if err := report(ctx, s, p, f, "node-a", tel); err != nil {
				t.Fatal(err)
			}
			bad := fullTelemetry(1)
			bad.Labels[f.ContractToken[:40]] = "x"
			if err := report(ctx, s, p, f, "node-a", bad); connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("token as a key: got %v, want invalid_argument", err)
			}
			inst := listInstances(ctx, t, s, p, f)
			pts := history(ctx, t, s, p, f, &v1.GetTelemetryHistoryRequest{})
			stored, _ := protojson.Marshal(&v1.ListInstancesResponse{Instances: inst})
			hist, _ := protojson.Marshal(&v1.GetTelemetryHistoryResponse{Points: pts})
			for what, b := range map[string][]byte{"instances": stored, "history": hist} {
				if bytes.Contains(b, []byte(f.ContractToken)) || bytes.Contains(b, []byte("lsr_")) {
					t.Errorf("%s: the token was stored: %s", what, b)
				}
			}
			if len(inst) != 1 || inst[0].Telemetry.Labels["env_dump"] != "[redacted]" || inst[0].Telemetry.AppName != "[redacted]" {
				t.Errorf("redaction: got %v, want env_dump and app_name [redacted]", inst)
			}
		})
	}
}

// TestTelemetryOptOutAndTruncation: a tenant's dropped fields are never
// stored, and with truncate_ips only /24 (IPv4) or /48 (IPv6) remains, in
// telemetry and in the instance's peer address.
func TestTelemetryOptOutAndTruncation(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			truth := true
			ut, err := adm.UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{
				TelemetryFieldsDropped: []string{"labels", "server_host"}, SetTelemetryFieldsDropped: true,
				TruncateIps: &truth, TelemetryRetention: durationpb.New(30 * 24 * time.Hour),
			}))
			if err != nil {
				t.Fatalf("UpdateTenant: %v", err)
			}
			tn := ut.Msg.Tenant
			if !slices.Equal(tn.TelemetryFieldsDropped, []string{"labels", "server_host"}) || !tn.TruncateIps || tn.TelemetryRetention.AsDuration() != 30*24*time.Hour {
				t.Errorf("tenant: got %v, want the telemetry settings applied", tn)
			}
			tel := fullTelemetry(3)
			if err := report(ctx, s, p, f, "v4", tel); err != nil {
				t.Fatal(err)
			}
			tel.ServerIp = "2001:db8:abcd:12::7"
			if err := report(ctx, s, p, f, "v6", tel); err != nil {
				t.Fatal(err)
			}
			inst := listInstances(ctx, t, s, p, f)
			if len(inst) != 2 {
				t.Fatalf("instances: got %d, want 2", len(inst))
			}
			for _, c := range []struct {
				i      *v1.Instance
				wantIP string
			}{{inst[0], "203.0.113.0"}, {inst[1], "2001:db8:abcd::"}} {
				tm := c.i.Telemetry
				if tm.Labels != nil || tm.ServerHost != "" {
					t.Errorf("%s: labels %v, server_host %q, want both dropped", c.i.InstanceId, tm.Labels, tm.ServerHost)
				}
				if tm.ServerIp != c.wantIP {
					t.Errorf("%s: server_ip %q, want %q", c.i.InstanceId, tm.ServerIp, c.wantIP)
				}
				if tm.ProductVersion != "3.1.0" || tm.Usage["resources_count"] != 3 {
					t.Errorf("%s: kept fields: got %v, want product_version and usage kept", c.i.InstanceId, tm)
				}
				if !strings.HasPrefix(c.i.RemoteAddr, "127.0.0.0:") {
					t.Errorf("%s: remote_addr %q, want truncated to 127.0.0.0:port", c.i.InstanceId, c.i.RemoteAddr)
				}
			}
			for _, pt := range history(ctx, t, s, p, f, &v1.GetTelemetryHistoryRequest{}) {
				if pt.Telemetry.Labels != nil || pt.Telemetry.ServerHost != "" {
					t.Errorf("history point of %s: got %v, want labels and server_host dropped", pt.InstanceId, pt.Telemetry)
				}
			}
			_, err = adm.UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{TelemetryFieldsDropped: []string{"secrets"}, SetTelemetryFieldsDropped: true}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("unknown field name: got %v, want invalid_argument", err)
			}
		})
	}
}

// TestTelemetryRetention: with the fake clock, the pruner deletes history
// older than each tenant's retention, and the latest telemetry of an
// instance silent for longer.
func TestTelemetryRetention(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	short := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 400 * 24 * time.Hour})
	long := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 400 * 24 * time.Hour}) // default: 90 days
	if _, err := s.Admin(testserver.GRPC, short.AdminToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{
		TelemetryRetention: durationpb.New(7 * 24 * time.Hour)})); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*testserver.Fixture{short, long} {
		for _, id := range []string{"silent", "busy"} {
			if err := report(ctx, s, testserver.GRPC, f, id, fullTelemetry(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tick := make(chan time.Time)
	runs := make(chan int64)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go s.Service.RunTelemetryPruner(pctx, tick, func(n int64, err error) {
		if err != nil {
			t.Errorf("prune: %v", err)
		}
		runs <- n
	})
	prune := func() int64 {
		t.Helper()
		select {
		case tick <- s.Clock.Now():
		case <-time.After(30 * time.Second):
			t.Fatal("pruner did not take the tick")
		}
		select {
		case n := <-runs:
			return n
		case <-time.After(30 * time.Second):
			t.Fatal("pruner did not finish")
		}
		return 0
	}
	if n := prune(); n != 0 {
		t.Errorf("prune at once: got %d, want 0", n)
	}
	s.Clock.Advance(8 * 24 * time.Hour)
	for _, f := range []*testserver.Fixture{short, long} {
		if err := report(ctx, s, testserver.GRPC, f, "busy", fullTelemetry(2)); err != nil {
			t.Fatal(err)
		}
	}
	if n := prune(); n != 2 {
		t.Errorf("prune after 8 days: got %d points, want 2 (the short tenant's first reports)", n)
	}
	if pts := history(ctx, t, s, testserver.GRPC, short, &v1.GetTelemetryHistoryRequest{}); len(pts) != 1 || pts[0].InstanceId != "busy" {
		t.Errorf("short tenant history: got %v, want busy's recent point only", pts)
	}
	for _, i := range listInstances(ctx, t, s, testserver.GRPC, short) {
		if (i.Telemetry == nil) != (i.InstanceId == "silent") {
			t.Errorf("short tenant %s: telemetry %v, want cleared only for the silent instance", i.InstanceId, i.Telemetry)
		}
	}
	if pts := history(ctx, t, s, testserver.GRPC, long, &v1.GetTelemetryHistoryRequest{}); len(pts) != 3 {
		t.Errorf("long tenant history: got %d points, want 3 (90-day retention)", len(pts))
	}
	s.Clock.Advance(83 * 24 * time.Hour) // 91 days after the first reports
	if n := prune(); n != 3 {
		t.Errorf("prune after 91 days: got %d, want 3 (the long tenant's first two and short's busy)", n)
	}
	if pts := history(ctx, t, s, testserver.GRPC, long, &v1.GetTelemetryHistoryRequest{}); len(pts) != 1 {
		t.Errorf("long tenant history after 91 days: got %d points, want 1", len(pts))
	}
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }

// TestTelemetryTenantIsolation: another tenant's admin sees none of it, and
// a contract token cannot read it.
func TestTelemetryTenantIsolation(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			other := s.NewFixture(t, testserver.FixtureOptions{})
			if err := report(ctx, s, p, f, "node-a", fullTelemetry(1)); err != nil {
				t.Fatal(err)
			}
			oa := s.Admin(p, other.AdminToken)
			_, err := oa.GetTelemetryHistory(ctx, connect.NewRequest(&v1.GetTelemetryHistoryRequest{ContractId: f.ContractID}))
			if got := connect.CodeOf(err); got != connect.CodeNotFound {
				t.Errorf("other tenant's history: got %v, want not_found", got)
			}
			_, err = oa.GetFleetSummary(ctx, connect.NewRequest(&v1.GetFleetSummaryRequest{TenantId: f.TenantID}))
			if got := connect.CodeOf(err); got != connect.CodeNotFound {
				t.Errorf("other tenant's summary: got %v, want not_found", got)
			}
			fs, err := oa.GetFleetSummary(ctx, connect.NewRequest(&v1.GetFleetSummaryRequest{}))
			if err != nil || fs.Msg.Instances != 0 {
				t.Errorf("own empty summary: got %v, %v, want 0 instances", fs, err)
			}
			_, err = s.Admin(p, f.ContractToken).GetTelemetryHistory(ctx, connect.NewRequest(&v1.GetTelemetryHistoryRequest{ContractId: f.ContractID}))
			if got := connect.CodeOf(err); got != connect.CodePermissionDenied {
				t.Errorf("contract token: got %v, want permission_denied", got)
			}
			_, err = s.Admin(p, f.AdminToken).GetTelemetryHistory(ctx, connect.NewRequest(&v1.GetTelemetryHistoryRequest{ContractId: f.ContractID,
				Since: timestamppb.New(s.Clock.Now()), Until: timestamppb.New(s.Clock.Now().Add(-time.Hour))}))
			if got := connect.CodeOf(err); got != connect.CodeInvalidArgument {
				t.Errorf("since after until: got %v, want invalid_argument", got)
			}
		})
	}
}
