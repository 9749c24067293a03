package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/rpcerr"
	"github.com/licensor/licensor/server"
)

// gate holds RequestCapabilities calls of one tenant inside the handler
// chain (after the threshold) until opened: a slow request, made slow
// deterministically.
type gate struct {
	tenant  atomic.Value // string
	entered chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1000), open: make(chan struct{})} }

func (g *gate) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		a, _ := licensor.ActorFrom(ctx)
		if t, _ := g.tenant.Load().(string); t != "" && a.TenantID == t && strings.HasSuffix(req.Spec().Procedure, "/RequestCapabilities") {
			g.entered <- struct{}{}
			<-g.open
		}
		return next(ctx, req)
	}
}
func (g *gate) WrapStreamingClient(n connect.StreamingClientFunc) connect.StreamingClientFunc {
	return n
}
func (g *gate) WrapStreamingHandler(n connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return n
}

// retryAfter reads the retry hint a refused call carries.
func retryAfter(err error) time.Duration {
	var ce *connect.Error
	if !asConnectError(err, &ce) {
		return 0
	}
	ms, _ := strconv.Atoi(ce.Meta().Get(rpcerr.HeaderRetryAfterMs))
	return time.Duration(ms) * time.Millisecond
}

// setLimit sets a tenant's threshold and queue wait as the operator, with
// the ceilings at the same values.
func setLimit(t *testing.T, s *testserver.Server, f *capFixture, limit int32, wait time.Duration) {
	t.Helper()
	req := &v1.UpdateTenantRequest{TenantId: f.TenantID, ConcurrencyLimit: &limit, ConcurrencyCeiling: &limit}
	if wait > 0 {
		req.QueueWait = durationpb.New(wait)
		req.QueueWaitCeiling = durationpb.New(wait)
	}
	if _, err := s.Admin(testserver.GRPC, s.OperatorToken).UpdateTenant(context.Background(), connect.NewRequest(req)); err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
}

// TestConcurrencyThreshold: the threshold at 5, 50 concurrent slow
// requests: 5 run, 45 are refused at once with RESOURCE_EXHAUSTED and a
// retry hint (429 and Retry-After over HTTP); another tenant is not
// slowed; retrying with the hint then completes every flow.
func TestConcurrencyThreshold(t *testing.T) {
	const limit, surge = 5, 50
	ctx := context.Background()
	g := newGate()
	var refusals atomic.Int64
	s := testserver.Start(t, testserver.Options{Configure: func(c *server.Config) {
		c.InnerInterceptors = append(c.InnerInterceptors, g)
		c.OnRefused = func(string) { refusals.Add(1) }
	}})
	a := newCapFixture(t, s)
	b := newCapFixture(t, s)
	setLimit(t, s, a, limit, 0)
	g.tenant.Store(a.TenantID)

	var wg sync.WaitGroup
	errs := make([]error, surge)
	granted := make([]bool, surge)
	for i := range surge {
		cl := s.Capability(testserver.Protocols[i%2], a.ContractToken)
		wg.Go(func() {
			res, err := cl.RequestCapabilities(ctx, a.request("dev-"+strconv.Itoa(i), caps("solver", 1)))
			errs[i] = err
			granted[i] = err == nil && res.Msg.Granted
		})
	}
	// 5 enter the handler and hold; the 45 others come back refused.
	deadline := time.After(30 * time.Second)
	for range limit {
		select {
		case <-g.entered:
		case <-deadline:
			t.Fatal("timed out waiting for 5 requests to reach the handler")
		}
	}
	for refusals.Load() < surge-limit {
		select {
		case <-deadline:
			t.Fatalf("got %d refusals, want %d", refusals.Load(), surge-limit)
		case <-time.After(time.Millisecond):
		}
	}
	if got := s.Server.Refused(a.TenantID); got != surge-limit {
		t.Errorf("Refused(tenant A): got %d, want %d", got, surge-limit)
	}

	t.Run("OtherTenantUnaffected", func(t *testing.T) {
		res, err := s.Capability(testserver.GRPC, b.ContractToken).RequestCapabilities(ctx, b.request("b-1", caps("solver", 1)))
		if err != nil || !res.Msg.Granted {
			t.Errorf("tenant B during A's surge: got %v, %v; want a grant", res, err)
		}
		if got := s.Server.Refused(b.TenantID); got != 0 {
			t.Errorf("Refused(tenant B): got %d, want 0", got)
		}
	})
	t.Run("HTTP429", func(t *testing.T) {
		body := `{"contract_id":"` + a.ContractID + `","instance_id":"curl","capabilities":[{"feature":"solver","units":1}]}`
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/"+licensorv1connect.CapabilityServiceName+"/RequestCapabilities", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+a.ContractToken)
		res, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" || res.Header.Get(rpcerr.HeaderRetryAfterMs) == "" {
			t.Errorf("got status %d, Retry-After %q, %s %q; want 429, \"1\" and a millisecond hint",
				res.StatusCode, res.Header.Get("Retry-After"), rpcerr.HeaderRetryAfterMs, res.Header.Get(rpcerr.HeaderRetryAfterMs))
		}
	})

	close(g.open)
	wg.Wait()
	var refused []int
	for i, err := range errs {
		switch {
		case err == nil:
			if !granted[i] {
				t.Errorf("request %d: got a denial, want a grant", i)
			}
		case connect.CodeOf(err) == connect.CodeResourceExhausted && retryAfter(err) > 0:
			refused = append(refused, i)
		default:
			t.Errorf("request %d: got %v, want a grant or RESOURCE_EXHAUSTED with a retry hint", i, err)
		}
	}
	if len(refused) != surge-limit {
		t.Fatalf("refused: got %d, want %d", len(refused), surge-limit)
	}

	// The surge is over: retrying after the hint completes every flow
	// (each asks for 1 unit; the pool has 10, so return at once).
	g.tenant.Store("")
	cl := s.Capability(testserver.GRPC, a.ContractToken)
	for _, i := range refused {
		res, err := cl.RequestCapabilities(ctx, a.request("dev-"+strconv.Itoa(i), caps("solver", 1)))
		if err != nil || !res.Msg.Granted {
			t.Fatalf("retry of request %d: got %v, %v; want a grant", i, res, err)
		}
		if _, err := cl.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{
			ContractId: a.ContractID, InstanceId: res.Msg.Lease.InstanceId, LeaseId: res.Msg.Lease.Id})); err != nil {
			t.Fatal(err)
		}
	}
}

// TestQueueWait: with a queue wait, a request over the threshold waits for
// a slot instead of being refused, and is refused only when the wait ends.
func TestQueueWait(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	s := testserver.Start(t, testserver.Options{Configure: func(c *server.Config) { c.InnerInterceptors = append(c.InnerInterceptors, g) }})
	a := newCapFixture(t, s)
	setLimit(t, s, a, 1, licensor.MaxQueueWait)
	g.tenant.Store(a.TenantID)
	cl := s.Capability(testserver.GRPC, a.ContractToken)
	done := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := cl.RequestCapabilities(ctx, a.request("q-"+strconv.Itoa(i), caps("solver", 1)))
			done <- err
		}()
	}
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for the first request")
	}
	// The second waits in the queue (it is not refused) until the first
	// leaves the handler and hands it the slot.
	select {
	case err := <-done:
		t.Fatalf("a request returned while the first held the only slot: %v", err)
	case <-g.entered:
		t.Fatal("two requests in the handler with a limit of 1")
	default:
	}
	close(g.open)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("queued request: got %v, want a grant", err)
		}
	}
	if got := s.Server.Refused(a.TenantID); got != 0 {
		t.Errorf("Refused: got %d, want 0", got)
	}
}
