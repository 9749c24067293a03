package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// The console's queries through the API: the instance search pages with
// its cursor and filters, the dashboard counts what the tenant has, the
// series answer, and another tenant sees none of it.
func TestConsoleQueries(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
			other := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			intruder := s.Admin(p, other.AdminToken)
			for i, id := range []string{"node-a", "node-b", "node-c"} {
				tel := fullTelemetry(1)
				tel.ProductVersion = []string{"1.0", "2.0", "2.0"}[i]
				if err := report(ctx, s, p, f, id, tel); err != nil {
					t.Fatalf("GetLicense %s: %v", id, err)
				}
				s.Clock.Advance(time.Minute)
			}

			var got []string
			req := &v1.SearchInstancesRequest{PageSize: 2}
			for pages := 0; ; pages++ {
				if pages > 5 {
					t.Fatal("SearchInstances: more than 5 pages")
				}
				res, err := adm.SearchInstances(ctx, connect.NewRequest(req))
				if err != nil {
					t.Fatalf("SearchInstances: %v", err)
				}
				for _, i := range res.Msg.Instances {
					got = append(got, i.InstanceId)
				}
				if res.Msg.NextPageToken == "" {
					break
				}
				req.PageToken = res.Msg.NextPageToken
			}
			if want := []string{"node-c", "node-b", "node-a"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Errorf("SearchInstances pages: got %v, want %v", got, want)
			}
			res, err := adm.SearchInstances(ctx, connect.NewRequest(&v1.SearchInstancesRequest{ProductVersion: "2.0", InstanceIdPrefix: "node-b", CustomerId: f.CustomerID}))
			if err != nil || len(res.Msg.Instances) != 1 || res.Msg.Instances[0].InstanceId != "node-b" {
				t.Errorf("SearchInstances filtered: got %v, %v; want node-b", res, err)
			}
			_, err = adm.SearchInstances(ctx, connect.NewRequest(&v1.SearchInstancesRequest{PageToken: "forged"}))
			wantConnectCode(t, "SearchInstances with a forged token", err, connect.CodeInvalidArgument)
			res, err = intruder.SearchInstances(ctx, connect.NewRequest(&v1.SearchInstancesRequest{ContractId: f.ContractID}))
			if err != nil || len(res.Msg.Instances) != 0 {
				t.Errorf("SearchInstances of another tenant's contract: got %v, %v; want none", res, err)
			}

			d, err := adm.GetDashboard(ctx, connect.NewRequest(&v1.GetDashboardRequest{}))
			if err != nil {
				t.Fatalf("GetDashboard: %v", err)
			}
			var checkins int64
			for _, h := range d.Msg.CheckinsPerHour {
				checkins += h.Count
			}
			if d.Msg.ActiveInstances != 3 || checkins != 3 || d.Msg.ContractsEnding_30D != 1 || len(d.Msg.CheckinsPerHour) != 25 {
				t.Errorf("GetDashboard: got %d active, %d check-ins in %d hours, %d ending; want 3, 3 in 25, 1",
					d.Msg.ActiveInstances, checkins, len(d.Msg.CheckinsPerHour), d.Msg.ContractsEnding_30D)
			}
			od, err := intruder.GetDashboard(ctx, connect.NewRequest(&v1.GetDashboardRequest{}))
			if err != nil || od.Msg.ActiveInstances != 0 {
				t.Errorf("GetDashboard of the other tenant: got %v, %v; want no active instances", od, err)
			}

			vs, err := adm.GetTelemetryVersionSeries(ctx, connect.NewRequest(&v1.GetTelemetryVersionSeriesRequest{}))
			if err != nil {
				t.Fatalf("GetTelemetryVersionSeries: %v", err)
			}
			byVersion := map[string]int64{}
			for _, pt := range vs.Msg.Points {
				byVersion[pt.Key] += pt.Value
			}
			if byVersion["1.0"] != 1 || byVersion["2.0"] != 2 {
				t.Errorf("GetTelemetryVersionSeries: got %v, want 1.0: 1, 2.0: 2", byVersion)
			}
			_, err = adm.GetTelemetryVersionSeries(ctx, connect.NewRequest(&v1.GetTelemetryVersionSeriesRequest{Range: &v1.SeriesRange{Step: durationpb.New(time.Second)}}))
			wantConnectCode(t, "GetTelemetryVersionSeries with a 1s step", err, connect.CodeInvalidArgument)

			pr, err := adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID,
				Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 5}}}))
			if err != nil {
				t.Fatalf("CreatePool: %v", err)
			}
			ps, err := adm.GetPoolUsageSeries(ctx, connect.NewRequest(&v1.GetPoolUsageSeriesRequest{PoolId: pr.Msg.Pool.Id,
				Range: &v1.SeriesRange{Since: timestamppb.New(s.Clock.Now().Add(-time.Hour)), Step: durationpb.New(10 * time.Minute)}}))
			if err != nil || len(ps.Msg.Points) != 6 || ps.Msg.Points[0].Key != "solver" {
				t.Errorf("GetPoolUsageSeries: got %v, %v; want 6 buckets of solver", ps, err)
			}
			_, err = intruder.GetPoolUsageSeries(ctx, connect.NewRequest(&v1.GetPoolUsageSeriesRequest{PoolId: pr.Msg.Pool.Id}))
			wantConnectCode(t, "GetPoolUsageSeries of another tenant's pool", err, connect.CodeNotFound)
		})
	}
}
