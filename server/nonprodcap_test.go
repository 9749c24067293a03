package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// TestNonProductionCap: a production-URL contract capped at two
// non-production URLs licenses two staging URLs, refuses a third with
// RESOURCE_EXHAUSTED naming the cap, keeps licensing the two (and
// production URLs, which take seats), and licenses the third once one is
// released.
func TestNonProductionCap(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 1)
			adm := s.Admin(p, f.AdminToken)
			two := int32(2)
			ch, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{
				ContractId: f.ContractID, MaxNonProductionUrls: &two,
			}))
			if err != nil {
				t.Fatalf("ChangeContract: %v", err)
			}
			if got := ch.Msg.Contract.MaxNonProductionUrls; got != 2 {
				t.Fatalf("MaxNonProductionUrls after the change: got %d, want 2", got)
			}

			for _, u := range []string{"https://staging.example.com", "https://qa.example.com"} {
				if _, err := check(ctx, s, p, f, u, "staging"); err != nil {
					t.Fatalf("check %s: %v", u, err)
				}
			}
			_, err = check(ctx, s, p, f, "https://preview.example.com", "development")
			if got := connect.CodeOf(err); got != connect.CodeResourceExhausted {
				t.Fatalf("third non-production URL: got %v (%v), want resource_exhausted", got, err)
			}
			msg := err.(*connect.Error).Message()
			for _, want := range []string{"allows 2 non-production", "holds 2", "release"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message: got %q, want it to contain %q", msg, want)
				}
			}
			if got := len(listInstances(ctx, t, s, p, f)); got != 2 {
				t.Errorf("instances: got %d, want 2 (the refused URL is not stored)", got)
			}
			// The two that hold a slot refresh; a production URL takes the seat.
			if _, err := check(ctx, s, p, f, "https://staging.example.com", "staging"); err != nil {
				t.Errorf("refresh of a staging URL at the cap: got %v, want a license", err)
			}
			if _, err := check(ctx, s, p, f, "https://www.example.com", "production"); err != nil {
				t.Errorf("production URL at the non-production cap: got %v, want a license", err)
			}
			gc, err := adm.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: f.ContractID}))
			if err != nil {
				t.Fatalf("GetContract: %v", err)
			}
			if got := gc.Msg.Contract.NonProductionUrlsUsed; got != 2 {
				t.Errorf("NonProductionUrlsUsed: got %d, want 2", got)
			}
			if got := gc.Msg.Contract.SeatsUsed; got != 1 {
				t.Errorf("SeatsUsed: got %d, want 1", got)
			}
			slots := 0
			for _, i := range listInstances(ctx, t, s, p, f) {
				if i.NonProductionSlot {
					slots++
				}
			}
			if slots != 2 {
				t.Errorf("instances holding a non-production slot: got %d, want 2", slots)
			}

			if _, err := adm.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{
				ContractId: f.ContractID, InstanceId: "https://qa.example.com",
			})); err != nil {
				t.Fatalf("ReleaseSeat: %v", err)
			}
			if _, err := check(ctx, s, p, f, "https://preview.example.com", "development"); err != nil {
				t.Errorf("non-production URL after a release: got %v, want a license", err)
			}
		})
	}
}

// TestNonProductionCapCreate: the cap is set at creation on a
// production-URL contract and refused on an instance-seat one.
func TestNonProductionCapCreate(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := urlFixture(t, s, 1)
			adm := s.Admin(p, f.AdminToken)
			req := func(rule string, maxNonProd int32) *connect.Request[v1.CreateContractRequest] {
				return connect.NewRequest(&v1.CreateContractRequest{
					CustomerId: f.CustomerID, ProductId: f.ProductID, StartsAt: timestamppb.New(s.Clock.Now()),
					EndsAt: timestamppb.New(s.Clock.Now().Add(24 * time.Hour)), SeatRule: rule, MaxNonProductionUrls: maxNonProd,
				})
			}
			res, err := adm.CreateContract(ctx, req(string(licensor.SeatProductionURL), 3))
			if err != nil {
				t.Fatalf("CreateContract: %v", err)
			}
			if got := res.Msg.Contract.MaxNonProductionUrls; got != 3 {
				t.Errorf("MaxNonProductionUrls: got %d, want 3", got)
			}
			_, err = adm.CreateContract(ctx, req(string(licensor.SeatInstance), 3))
			if got := connect.CodeOf(err); got != connect.CodeInvalidArgument {
				t.Errorf("cap on an instance-seat contract: got %v (%v), want invalid_argument", got, err)
			}
			_, err = adm.CreateContract(ctx, req(string(licensor.SeatProductionURL), -1))
			if got := connect.CodeOf(err); got != connect.CodeInvalidArgument {
				t.Errorf("negative cap: got %v (%v), want invalid_argument", got, err)
			}
		})
	}
}
