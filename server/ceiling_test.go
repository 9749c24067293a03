package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// TestTenantCeilingThroughAPI: a tenant admin may not raise its limit or
// wait past the ceilings, nor set them (PERMISSION_DENIED, naming the
// ceiling and who sets it); once the operator raises a ceiling the admin
// may go up to it; lowering it clamps the limit; every change is audited.
func TestTenantCeilingThroughAPI(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	admin := s.Admin(testserver.GRPC, f.AdminToken)
	op := s.Admin(testserver.Protocols[1], s.OperatorToken)
	update := func(cl interface {
		UpdateTenant(context.Context, *connect.Request[v1.UpdateTenantRequest]) (*connect.Response[v1.UpdateTenantResponse], error)
	}, req *v1.UpdateTenantRequest) (*v1.Tenant, error) {
		res, err := cl.UpdateTenant(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return res.Msg.Tenant, nil
	}
	i32 := func(n int32) *int32 { return &n }

	for _, tc := range []struct {
		name string
		req  *v1.UpdateTenantRequest
		msg  string
	}{
		{"LimitPastCeiling", &v1.UpdateTenantRequest{ConcurrencyLimit: i32(100000)}, "ceiling of 60; the server operator sets the ceiling"},
		{"WaitPastCeiling", &v1.UpdateTenantRequest{QueueWait: durationpb.New(5 * time.Second)}, "ceiling of 1s; the server operator sets the ceiling"},
		{"SetsCeiling", &v1.UpdateTenantRequest{ConcurrencyCeiling: i32(1000)}, "only the server operator"},
		{"SetsWaitCeiling", &v1.UpdateTenantRequest{QueueWaitCeiling: durationpb.New(2 * time.Second)}, "only the server operator"},
	} {
		t.Run("Admin"+tc.name, func(t *testing.T) {
			_, err := update(admin, tc.req)
			wantConnectCode(t, "UpdateTenant", err, connect.CodePermissionDenied)
			if ce, ok := err.(*connect.Error); !ok || !strings.Contains(ce.Message(), tc.msg) {
				t.Errorf("got %v, want a message saying %q", err, tc.msg)
			}
		})
	}
	got, err := admin.GetTenant(ctx, connect.NewRequest(&v1.GetTenantRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if ten := got.Msg.Tenant; ten.ConcurrencyLimit != 60 || ten.ConcurrencyCeiling != 60 || ten.QueueWaitCeiling.AsDuration() != time.Second {
		t.Fatalf("after the refusals: got limit %d of %d, wait ceiling %s; want 60 of 60, 1s", ten.ConcurrencyLimit, ten.ConcurrencyCeiling, ten.QueueWaitCeiling.AsDuration())
	}

	ten, err := update(op, &v1.UpdateTenantRequest{TenantId: f.TenantID, ConcurrencyCeiling: i32(500), QueueWaitCeiling: durationpb.New(3 * time.Second)})
	if err != nil || ten.ConcurrencyCeiling != 500 || ten.ConcurrencyLimit != 60 {
		t.Fatalf("operator raises the ceiling: got %v, %v; want limit 60 of 500", ten, err)
	}
	ten, err = update(admin, &v1.UpdateTenantRequest{ConcurrencyLimit: i32(400), QueueWait: durationpb.New(3 * time.Second)})
	if err != nil || ten.ConcurrencyLimit != 400 || ten.QueueWait.AsDuration() != 3*time.Second {
		t.Fatalf("admin raises its limit under the new ceiling: got %v, %v; want 400 and 3s", ten, err)
	}
	_, err = update(admin, &v1.UpdateTenantRequest{ConcurrencyLimit: i32(501)})
	wantConnectCode(t, "admin past the raised ceiling", err, connect.CodePermissionDenied)
	ten, err = update(op, &v1.UpdateTenantRequest{TenantId: f.TenantID, ConcurrencyCeiling: i32(100)})
	if err != nil || ten.ConcurrencyCeiling != 100 || ten.ConcurrencyLimit != 100 {
		t.Fatalf("operator lowers the ceiling below the limit: got %v, %v; want the limit clamped to 100", ten, err)
	}

	res, err := op.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{TenantId: f.TenantID, ObjectType: "tenant", ObjectId: f.TenantID}))
	if err != nil {
		t.Fatal(err)
	}
	type change struct {
		role           string
		limit, ceiling float64
	}
	var changes []change
	for _, e := range res.Msg.Entries {
		if e.Action == "tenant.update" {
			a := e.After.GetFields()
			changes = append(changes, change{e.ActorRole, a["ConcurrencyLimit"].GetNumberValue(), a["ConcurrencyCeiling"].GetNumberValue()})
		}
	}
	want := map[change]bool{{"operator", 60, 500}: true, {"admin", 400, 500}: true, {"operator", 100, 100}: true}
	if len(changes) != len(want) {
		t.Fatalf("tenant.update audit entries: got %v, want %d: %v", changes, len(want), want)
	}
	for _, c := range changes {
		if !want[c] {
			t.Errorf("audit entry %+v: not one of %v", c, want)
		}
	}
}

// TestLimitChangeAppliesToNextRequest: with one request in flight, the
// tenant admin lowers its limit to 1 and the very next request is refused;
// the operator raises it to 2 and the very next request runs.
func TestLimitChangeAppliesToNextRequest(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	s := testserver.Start(t, testserver.Options{Configure: func(c *server.Config) { c.InnerInterceptors = append(c.InnerInterceptors, g) }})
	a := newCapFixture(t, s)
	setLimit(t, s, a, 2, 0) // limit 2 of a ceiling of 2
	g.tenant.Store(a.TenantID)
	cl := s.Capability(testserver.GRPC, a.ContractToken)
	done := make(chan error, 3)
	send := func(i int) {
		go func() {
			_, err := cl.RequestCapabilities(ctx, a.request("n-"+strconv.Itoa(i), caps("solver", 1)))
			done <- err
		}()
	}
	entered := func(what string) {
		t.Helper()
		select {
		case <-g.entered:
		case err := <-done:
			t.Fatalf("%s: got %v before it reached the handler, want it in flight", what, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: timed out waiting for it to reach the handler", what)
		}
	}
	send(1)
	entered("request 1")

	one := int32(1)
	if _, err := s.Admin(testserver.GRPC, a.AdminToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{ConcurrencyLimit: &one})); err != nil {
		t.Fatalf("admin lowers the limit: %v", err)
	}
	_, err := cl.RequestCapabilities(ctx, a.request("n-2", caps("solver", 1)))
	wantConnectCode(t, "the next request at limit 1", err, connect.CodeResourceExhausted)

	two := int32(2)
	if _, err := s.Admin(testserver.GRPC, s.OperatorToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{TenantId: a.TenantID, ConcurrencyLimit: &two})); err != nil {
		t.Fatalf("operator raises the limit: %v", err)
	}
	send(3)
	entered("request 3 at limit 2")
	close(g.open)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("a request let through: got %v, want a grant", err)
		}
	}
}
