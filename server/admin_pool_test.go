package server_test

import (
	"context"
	"math"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

func TestAdminPools(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := newCapFixture(t, s)
			other := newCapFixture(t, s)
			adm := s.Admin(p, f.AdminToken)
			start := s.Clock.Now()

			cl := s.Capability(p, f.ContractToken)
			a, err := cl.RequestCapabilities(ctx, f.request("a", caps("solver", 4)))
			if err != nil {
				t.Fatal(err)
			}
			// a never renews: its lease ends at 15m and the reaper frees it.
			s.Clock.Advance(15 * time.Minute)
			if n, err := s.Service.ReapLeases(ctx); err != nil || n != 1 {
				t.Fatalf("ReapLeases: got %d, %v; want 1", n, err)
			}
			s.Clock.Advance(15 * time.Minute)
			if _, err := cl.RequestCapabilities(ctx, f.request("b", caps("solver", 4))); err != nil {
				t.Fatal(err)
			}
			denied, err := cl.RequestCapabilities(ctx, f.request("c", caps("solver", 7)))
			if err != nil || denied.Msg.Granted {
				t.Fatalf("got %v, %v; want a denial", denied, err)
			}

			got, err := adm.GetPool(ctx, connect.NewRequest(&v1.GetPoolRequest{PoolId: f.PoolID}))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(got.Msg.Leases); n != 1 {
				t.Errorf("GetPool leases: got %d, want 1", n)
			}
			list, err := adm.ListPools(ctx, connect.NewRequest(&v1.ListPoolsRequest{CustomerId: f.CustomerID}))
			if err != nil || len(list.Msg.Pools) != 1 {
				t.Fatalf("ListPools: got %v, %v; want 1 pool", list, err)
			}
			ls, err := adm.ListLeases(ctx, connect.NewRequest(&v1.ListLeasesRequest{ContractId: f.ContractID, InstanceId: "b"}))
			if err != nil || len(ls.Msg.Leases) != 1 {
				t.Fatalf("ListLeases: got %v, %v; want b's lease", ls, err)
			}
			s.Clock.Advance(10 * time.Minute)
			if _, err := adm.ReleaseLease(ctx, connect.NewRequest(&v1.ReleaseLeaseRequest{LeaseId: ls.Msg.Leases[0].Id})); err != nil {
				t.Fatalf("ReleaseLease: %v", err)
			}
			_, err = adm.ReleaseLease(ctx, connect.NewRequest(&v1.ReleaseLeaseRequest{LeaseId: ls.Msg.Leases[0].Id}))
			wantConnectCode(t, "ReleaseLease twice", err, connect.CodeNotFound)
			_, err = adm.GetPool(ctx, connect.NewRequest(&v1.GetPoolRequest{PoolId: other.PoolID}))
			wantConnectCode(t, "GetPool of another tenant", err, connect.CodeNotFound)
			_, err = adm.ReleaseLease(ctx, connect.NewRequest(&v1.ReleaseLeaseRequest{LeaseId: a.Msg.Lease.Id}))
			wantConnectCode(t, "ReleaseLease of a freed lease", err, connect.CodeNotFound)

			// A pool lends counted features the product defines: "viewer"
			// must be defined before a pool can hold it.
			viewer := &v1.ResizePoolRequest{PoolId: f.PoolID, LeaseTtl: durationpb.New(time.Hour),
				Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 20}, {Feature: "viewer", MaxUnits: 100}}}
			before := f.poolState(t)
			_, err = adm.ResizePool(ctx, connect.NewRequest(viewer))
			wantConnectCode(t, "ResizePool with a feature no product defines", err, connect.CodeInvalidArgument)
			if after := f.poolState(t); after != before {
				t.Errorf("pool after a refused resize: got %q, want %q", after, before)
			}
			if _, err := adm.CreateFeature(ctx, connect.NewRequest(&v1.CreateFeatureRequest{ProductId: f.ProductID, Name: "viewer", Kind: "counted"})); err != nil {
				t.Fatalf("CreateFeature: %v", err)
			}
			rs, err := adm.ResizePool(ctx, connect.NewRequest(viewer))
			if err != nil {
				t.Fatalf("ResizePool: %v", err)
			}
			if len(rs.Msg.Pool.Features) != 3 || rs.Msg.Pool.LeaseTtl.AsDuration() != time.Hour {
				t.Errorf("ResizePool: got %v, want 3 features and a 1h TTL", rs.Msg.Pool)
			}
			for _, bad := range []*v1.ResizePoolRequest{
				{PoolId: f.PoolID, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: -1}}},
				{PoolId: f.PoolID, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 1}, {Feature: "solver", MaxUnits: 2}}},
				{PoolId: f.PoolID, Features: []*v1.PoolFeatureLimit{{Feature: "reporting", MaxUnits: 1}}}, // on/off, not counted
				{PoolId: f.PoolID, Features: []*v1.PoolFeatureLimit{{Feature: "solvr", MaxUnits: 1}}},     // misspelt
				{PoolId: f.PoolID, LeaseTtl: durationpb.New(time.Second)},
				{PoolId: f.PoolID},
			} {
				before := f.poolState(t)
				_, err := adm.ResizePool(ctx, connect.NewRequest(bad))
				wantConnectCode(t, "ResizePool "+bad.String(), err, connect.CodeInvalidArgument)
				if after := f.poolState(t); after != before {
					t.Errorf("pool after a refused resize: got %q, want %q", after, before)
				}
			}
			_, err = adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID, ContractId: other.ContractID,
				Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 1}}}))
			wantConnectCode(t, "CreatePool for another tenant's contract", err, connect.CodeNotFound)
			_, err = adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID}))
			wantConnectCode(t, "CreatePool with no features", err, connect.CodeInvalidArgument)
			for _, feature := range []string{"solvr", "reporting"} {
				_, err = adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID, ContractId: f.ContractID,
					Features: []*v1.PoolFeatureLimit{{Feature: feature, MaxUnits: 1}}}))
				wantConnectCode(t, "CreatePool of "+feature, err, connect.CodeInvalidArgument)
			}

			// Usage per hour: in the first hour a held 4 for 15 minutes
			// (1 unit-hour), b held 4 for 10 (2/3), and c was denied.
			rep, err := adm.GetUsageReport(ctx, connect.NewRequest(&v1.GetUsageReportRequest{PoolId: f.PoolID,
				Since: timestamppb.New(start), Until: timestamppb.New(start.Add(2 * time.Hour)), Period: durationpb.New(time.Hour)}))
			if err != nil {
				t.Fatalf("GetUsageReport: %v", err)
			}
			var solver []*v1.UsageRow
			for _, r := range rep.Msg.Rows {
				if r.Feature == "solver" {
					solver = append(solver, r)
				}
			}
			if len(solver) != 2 {
				t.Fatalf("solver rows: got %d, want 2", len(solver))
			}
			r := solver[0]
			if r.PeakUnits != 4 || r.Grants != 2 || r.Denials != 1 || r.Expiries != 1 || r.Returns != 1 || math.Abs(r.UnitHours-5.0/3) > 1e-9 {
				t.Errorf("first hour: got peak %d, grants %d, denials %d, expiries %d, returns %d, unit-hours %v; want 4, 2, 1, 1, 1, 1.667",
					r.PeakUnits, r.Grants, r.Denials, r.Expiries, r.Returns, r.UnitHours)
			}
			if r := solver[1]; r.PeakUnits != 0 || r.UnitHours != 0 {
				t.Errorf("second hour: got peak %d, unit-hours %v; want 0, 0", r.PeakUnits, r.UnitHours)
			}
			_, err = adm.GetUsageReport(ctx, connect.NewRequest(&v1.GetUsageReportRequest{PoolId: f.PoolID,
				Since: timestamppb.New(start), Until: timestamppb.New(start.Add(time.Hour)), Period: durationpb.New(time.Second)}))
			wantConnectCode(t, "GetUsageReport with a 1s period", err, connect.CodeInvalidArgument)
		})
	}
}
