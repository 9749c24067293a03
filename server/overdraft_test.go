package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// TestOverdraft: a pool of gpu-export 1 with an overdraft of 1 grants a
// second unit, marked as overage in the lease, its capability document and
// the usage report, and raises pool.overdraft until it comes back.
func TestOverdraft(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			f := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			one := int64(1)
			pr, err := adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID,
				Features: []*v1.PoolFeatureLimit{{Feature: "gpu-export", MaxUnits: 1, Overdraft: &one}}}))
			if err != nil {
				t.Fatalf("CreatePool: %v", err)
			}
			pool := pr.Msg.GetPool()
			if got := pool.GetFeatures()[0].GetOverdraft(); got != 1 {
				t.Fatalf("overdraft: got %d, want 1", got)
			}
			cl := s.Capability(p, f.ContractToken)
			ask := func(instance string) *v1.RequestCapabilitiesResponse {
				t.Helper()
				r, err := cl.RequestCapabilities(ctx, connect.NewRequest(&v1.RequestCapabilitiesRequest{ContractId: f.ContractID, InstanceId: instance,
					Capabilities: []*v1.CapabilityUnits{{Feature: "gpu-export", Units: 1}}, PoolId: pool.GetId()}))
				if err != nil {
					t.Fatalf("RequestCapabilities %s: %v", instance, err)
				}
				return r.Msg
			}
			if m := ask("a"); !m.GetGranted() || len(m.GetLease().GetOverage()) != 0 {
				t.Fatalf("within the size: got %v, want a grant with no overage", m)
			}
			over := ask("b")
			if !over.GetGranted() || fmt.Sprintf("%s %d", over.GetLease().GetOverage()[0].GetFeature(), over.GetLease().GetOverage()[0].GetUnits()) != "gpu-export 1" {
				t.Fatalf("into the overdraft: got %v, want a grant with gpu-export=1 overage", over)
			}
			var cc licensor.CapabilityClaims
			if err := license.VerifyCapability(over.GetCapabilityToken(), fetchJWKS(t, s, f.TenantID), &cc); err != nil {
				t.Fatalf("VerifyCapability: %v", err)
			}
			if cc.Overage["gpu-export"] != 1 {
				t.Errorf("capability document overage: got %v, want gpu-export=1", cc.Overage)
			}
			if m := ask("c"); m.GetGranted() {
				t.Fatalf("past the overdraft: got %v, want a denial", m)
			}

			rep, err := adm.GetUsageReport(ctx, connect.NewRequest(&v1.GetUsageReportRequest{PoolId: pool.GetId(),
				Until: timestamppb.New(s.Clock.Now().Add(time.Hour))}))
			if err != nil {
				t.Fatalf("GetUsageReport: %v", err)
			}
			peak := int64(0)
			for _, r := range rep.Msg.GetRows() {
				peak = max(peak, r.GetPeakOverage())
			}
			if peak != 1 {
				t.Errorf("usage report peak overage: got %d, want 1", peak)
			}

			alerts := func() int {
				t.Helper()
				if err := s.Scanner.ScanOnce(ctx); err != nil {
					t.Fatalf("ScanOnce: %v", err)
				}
				res, err := adm.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{}))
				if err != nil {
					t.Fatalf("ListAlerts: %v", err)
				}
				n := 0
				for _, a := range res.Msg.GetAlerts() {
					if a.GetType() == string(licensor.AlertPoolOverdraft) {
						n++
					}
				}
				return n
			}
			if got := alerts(); got != 1 {
				t.Fatalf("pool.overdraft alerts in overdraft: got %d, want 1", got)
			}
			if _, err := cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{ContractId: f.ContractID, InstanceId: "b",
				LeaseId: over.GetLease().GetId()})); err != nil {
				t.Fatalf("ReturnCapabilities: %v", err)
			}
			if got := alerts(); got != 0 {
				t.Errorf("pool.overdraft alerts back within the size: got %d, want 0", got)
			}
			if _, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "https://hooks.example.com/x",
				EventTypes: []string{"pool.overdraft", "pool.overdraft.cleared"}})); err != nil {
				t.Errorf("CreateWebhook for pool.overdraft: %v", err)
			}

			// A resize that names no overdraft keeps it.
			res, err := adm.ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{PoolId: pool.GetId(),
				Features: []*v1.PoolFeatureLimit{{Feature: "gpu-export", MaxUnits: 2}}}))
			if err != nil {
				t.Fatalf("ResizePool: %v", err)
			}
			if got := res.Msg.GetPool().GetFeatures()[0].GetOverdraft(); got != 1 {
				t.Errorf("overdraft after a resize naming none: got %d, want 1", got)
			}
		})
	}
}
