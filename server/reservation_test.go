package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// TestReservations: units reserved for one instance are refused to the
// others, granted to it, and their unused part shows in the pool view and
// the usage report.
func TestReservations(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			f := newCapFixture(t, s) // solver=10, gpu-export=2
			adm := s.Admin(p, f.AdminToken)
			reserve := func(feature, instance string, units int64) (*v1.SetReservationResponse, error) {
				r, err := adm.SetReservation(ctx, connect.NewRequest(&v1.SetReservationRequest{PoolId: f.PoolID, Feature: feature, InstanceId: instance, Units: units}))
				if err != nil {
					return nil, err
				}
				return r.Msg, nil
			}
			for _, tc := range []struct {
				name, feature, instance string
				units                   int64
				want                    connect.Code
			}{
				{"BeyondSize", "gpu-export", "vip", 3, connect.CodeInvalidArgument},
				{"Negative", "gpu-export", "vip", -1, connect.CodeInvalidArgument},
				{"NoInstance", "gpu-export", "", 1, connect.CodeInvalidArgument},
				{"FeatureNotInPool", "reporting", "vip", 1, connect.CodeNotFound},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if _, err := reserve(tc.feature, tc.instance, tc.units); connect.CodeOf(err) != tc.want {
						t.Fatalf("got %v, want code %v", err, tc.want)
					}
				})
			}
			res, err := reserve("gpu-export", "vip", 1)
			if err != nil {
				t.Fatalf("SetReservation: %v", err)
			}
			if len(res.GetReservations()) != 1 || res.GetReservations()[0].GetUnused() != 1 {
				t.Fatalf("reservations: got %v, want vip's 1 unused", res.GetReservations())
			}
			// The server that set it forgets its cached pool: the
			// reservation applies to the next request.
			if m := f.ask(t, p, "a", "gpu-export", 1); !m.GetGranted() {
				t.Fatalf("the unreserved unit: got %v, want a grant", m)
			}
			if m := f.ask(t, p, "b", "gpu-export", 1); m.GetGranted() {
				t.Fatalf("the reserved unit to another instance: got %v, want a denial", m)
			}
			if m := f.ask(t, p, "vip", "gpu-export", 1); !m.GetGranted() {
				t.Fatalf("the reserved unit to vip: got %v, want a grant", m)
			}
			g, err := adm.GetPool(ctx, connect.NewRequest(&v1.GetPoolRequest{PoolId: f.PoolID}))
			if err != nil {
				t.Fatalf("GetPool: %v", err)
			}
			if rs := g.Msg.GetReservations(); len(rs) != 1 || rs[0].GetHeld() != 1 || rs[0].GetUnused() != 0 {
				t.Errorf("pool view reservations: got %v, want vip holding its 1", rs)
			}
			if got := g.Msg.GetPool().GetFeatures()[0].GetReserved(); got != 1 {
				t.Errorf("gpu-export reserved: got %d, want 1", got)
			}
			rep, err := adm.GetUsageReport(ctx, connect.NewRequest(&v1.GetUsageReportRequest{PoolId: f.PoolID}))
			if err != nil {
				t.Fatalf("GetUsageReport: %v", err)
			}
			if rs := rep.Msg.GetReservations(); len(rs) != 1 || rs[0].GetInstanceId() != "vip" {
				t.Errorf("usage report reservations: got %v, want vip's", rs)
			}
		})
	}
}
