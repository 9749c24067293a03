package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// createPool gives the fixture's customer a pool solver=10, gpu-export=2.
func createPool(t testing.TB, srv *testserver.Server, f *testserver.Fixture) string {
	t.Helper()
	res, err := srv.Admin(testserver.GRPC, f.AdminToken).CreatePool(context.Background(), connect.NewRequest(&v1.CreatePoolRequest{
		CustomerId: f.CustomerID, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: 10}, {Feature: "gpu-export", MaxUnits: 2}},
	}))
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	return res.Msg.Pool.Id
}

func inUse(t testing.TB, srv *testserver.Server, f *testserver.Fixture, pool string) string {
	t.Helper()
	res, err := srv.Admin(testserver.GRPC, f.AdminToken).GetPool(context.Background(), connect.NewRequest(&v1.GetPoolRequest{PoolId: pool}))
	if err != nil {
		t.Fatalf("GetPool: %v", err)
	}
	var parts []string
	for _, pf := range res.Msg.Pool.Features {
		parts = append(parts, fmt.Sprintf("%s=%d", pf.Feature, pf.InUse))
	}
	return strings.Join(parts, " ")
}

func TestCheckoutRenewReturn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testserver.FixtureOptions{})
	pool := createPool(t, e.srv, e.f)
	c := newClient(t, e.config(t, "node-1", ""))

	l, err := c.Checkout(ctx, licensor.Units{Feature: "solver", Units: 3})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if l.Units()["solver"] != 3 || l.Token() == "" || l.Borrowed() {
		t.Fatalf("lease: got units %v, token %q, borrowed %v; want solver=3, a token, not borrowed", l.Units(), l.Token(), l.Borrowed())
	}
	first := l.ExpiresAt()
	// The heartbeat sleeps half the lease's time, then renews.
	if d := e.clock.nextWait(t); d != licensor.DefaultLeaseTTL/2 {
		t.Errorf("heartbeat wait: got %v, want %v", d, licensor.DefaultLeaseTTL/2)
	}
	e.clock.step(t, licensor.DefaultLeaseTTL/2)
	eventually(t, "the lease is renewed", func() bool { return l.ExpiresAt().After(first) })
	if got, want := l.ExpiresAt(), first.Add(licensor.DefaultLeaseTTL/2); !got.Equal(want) {
		t.Errorf("ExpiresAt after the heartbeat: got %v, want %v", got, want)
	}

	_, err = c.Checkout(ctx, licensor.Units{Feature: "solver", Units: 8})
	var denied *DeniedError
	if !errors.As(err, &denied) || len(denied.Shortages) != 1 || denied.Shortages[0].Available != 7 {
		t.Fatalf("Checkout beyond the pool: got %v, want a DeniedError with 7 available", err)
	}

	b, err := c.Borrow(ctx, 48*time.Hour, licensor.Units{Feature: "gpu-export", Units: 1})
	if err != nil || !b.Borrowed() {
		t.Fatalf("Borrow: got %v, %v; want a borrowed lease", b, err)
	}
	if got := inUse(t, e.srv, e.f, pool); got != "gpu-export=1 solver=3" {
		t.Errorf("in use: got %q, want gpu-export=1 solver=3", got)
	}
	for _, x := range []*Lease{l, b, l} {
		if err := x.Return(ctx); err != nil {
			t.Fatalf("Return: %v", err)
		}
	}
	if got := inUse(t, e.srv, e.f, pool); got != "gpu-export=0 solver=0" {
		t.Errorf("in use after returns: got %q, want all free", got)
	}
}

func TestLeaseLost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testserver.FixtureOptions{})
	createPool(t, e.srv, e.f)
	c := newClient(t, e.config(t, "node-1", ""))
	l, err := c.Checkout(ctx, licensor.Units{Feature: "solver", Units: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.nextWait(t)
	// The device slept through its lease: the renewal finds it expired.
	e.clock.Advance(licensor.DefaultLeaseTTL)
	waitFor(t, l.Lost(), "lost lease")
	if licensor.ErrorCode(l.Err()) != licensor.EPRECONDITION {
		t.Errorf("Err: got %v, want FAILED_PRECONDITION", l.Err())
	}
	if err := l.Return(ctx); err != nil {
		t.Errorf("Return of a lost lease: got %v, want nil", err)
	}
}

// holdGate holds one tenant's RequestCapabilities calls in the handler
// until opened, to make a surge of slow requests deterministic.
type holdGate struct {
	tenant  atomic.Value
	entered chan struct{}
	open    chan struct{}
}

func (g *holdGate) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		a, _ := licensor.ActorFrom(ctx)
		if t, _ := g.tenant.Load().(string); t != "" && a.TenantID == t && strings.HasSuffix(req.Spec().Procedure, "/RequestCapabilities") {
			g.entered <- struct{}{}
			<-g.open
		}
		return next(ctx, req)
	}
}
func (g *holdGate) WrapStreamingClient(n connect.StreamingClientFunc) connect.StreamingClientFunc {
	return n
}
func (g *holdGate) WrapStreamingHandler(n connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return n
}

// TestCheckoutSurge: threshold 5, 50 devices check out at once while the
// first 5 are slow: 45 are refused with RESOURCE_EXHAUSTED, and the client
// library's retries (honouring the hint) then complete every flow.
func TestCheckoutSurge(t *testing.T) {
	const limit, surge = 5, 50
	ctx := context.Background()
	g := &holdGate{entered: make(chan struct{}, 1000), open: make(chan struct{})}
	var refused atomic.Int64
	srv := testserver.Start(t, testserver.Options{Configure: func(c *server.Config) {
		c.InnerInterceptors = append(c.InnerInterceptors, g)
		c.OnRefused = func(string) { refused.Add(1) }
	}})
	f := srv.NewFixture(t, testserver.FixtureOptions{})
	pool := createPool(t, srv, f)
	if _, err := srv.Admin(testserver.GRPC, f.AdminToken).ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{
		PoolId: pool, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: surge}}})); err != nil {
		t.Fatal(err)
	}
	n := int32(limit)
	if _, err := srv.Admin(testserver.GRPC, f.AdminToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{ConcurrencyLimit: &n})); err != nil {
		t.Fatal(err)
	}
	g.tenant.Store(f.TenantID)

	var wg sync.WaitGroup
	errs := make([]error, surge)
	for i := range surge {
		c := newClient(t, Config{
			Server: srv.URL, ContractID: f.ContractID, Token: f.ContractToken, TenantID: f.TenantID,
			InstanceID: fmt.Sprintf("dev-%d", i), RootCAs: srv.CAPool, MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second,
			Protocol: []Protocol{GRPC, Connect}[i%2],
		})
		wg.Go(func() {
			l, err := c.Checkout(ctx, licensor.Units{Feature: "solver", Units: 1})
			if err == nil {
				err = l.Return(ctx)
			}
			errs[i] = err
		})
	}
	for range limit {
		waitFor(t, g.entered, "a request in the handler")
	}
	eventually(t, "45 refusals", func() bool { return refused.Load() >= surge-limit })
	close(g.open)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("flow %d: got %v, want it completed by retries", i, err)
		}
	}
	if got := inUse(t, srv, f, pool); got != "gpu-export=0 solver=0" {
		t.Errorf("in use after every flow: got %q, want all free", got)
	}
}
