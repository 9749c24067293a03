package server_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/rpcerr"
	"github.com/licensor/licensor/server"
)

// TestQueueFairness: 200 requests wait for 5 units; each unit given back
// goes to the next of them in the order they joined, none is lost, none
// is granted twice.
func TestQueueFairness(t *testing.T) {
	s := testserver.Start(t)
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			testserver.QueueFairness(t, []*testserver.Server{s}, p, 200, 5)
		})
	}
}

// waitFor opens a WaitCapabilities stream for units of the fixture's pool.
func (f *capFixture) waitFor(t *testing.T, ctx context.Context, p testserver.Protocol, instance string, wait time.Duration, kv ...any) *connect.ServerStreamForClient[v1.WaitCapabilitiesResponse] {
	t.Helper()
	st, err := f.s.Capability(p, f.ContractToken).WaitCapabilities(ctx, connect.NewRequest(&v1.WaitCapabilitiesRequest{
		Request: &v1.RequestCapabilitiesRequest{ContractId: f.ContractID, InstanceId: instance, Capabilities: caps(kv...), PoolId: f.PoolID},
		Wait:    durationpb.New(wait),
	}))
	if err != nil {
		t.Fatalf("WaitCapabilities: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// next returns the stream's next message.
func next(t *testing.T, st *connect.ServerStreamForClient[v1.WaitCapabilitiesResponse]) *v1.WaitCapabilitiesResponse {
	t.Helper()
	if !st.Receive() {
		t.Fatalf("stream ended: %v", st.Err())
	}
	return st.Msg()
}

func (f *capFixture) ask(t *testing.T, p testserver.Protocol, instance string, kv ...any) *v1.RequestCapabilitiesResponse {
	t.Helper()
	r, err := f.s.Capability(p, f.ContractToken).RequestCapabilities(context.Background(), connect.NewRequest(&v1.RequestCapabilitiesRequest{
		ContractId: f.ContractID, InstanceId: instance, Capabilities: caps(kv...), PoolId: f.PoolID}))
	if err != nil {
		t.Fatalf("RequestCapabilities: %v", err)
	}
	return r.Msg
}

func (f *capFixture) waiting(t *testing.T) int32 {
	t.Helper()
	res, err := f.s.Admin(testserver.GRPC, f.AdminToken).GetPool(context.Background(), connect.NewRequest(&v1.GetPoolRequest{PoolId: f.PoolID}))
	if err != nil {
		t.Fatalf("GetPool: %v", err)
	}
	return res.Msg.GetPool().GetWaiting()
}

func TestWaitCapabilities(t *testing.T) {
	s := testserver.Start(t)
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			t.Run("Refused", func(t *testing.T) {
				f := newCapFixture(t, s)
				base := func() *v1.RequestCapabilitiesRequest {
					return &v1.RequestCapabilitiesRequest{ContractId: f.ContractID, InstanceId: "i", Capabilities: caps("solver", 1)}
				}
				preview, reqID := base(), base()
				preview.Preview, reqID.RequestId = true, "req_1"
				for _, tc := range []struct {
					name string
					req  *v1.WaitCapabilitiesRequest
					want connect.Code
				}{
					{"NoRequest", &v1.WaitCapabilitiesRequest{Wait: durationpb.New(time.Minute)}, connect.CodeInvalidArgument},
					{"NoWait", &v1.WaitCapabilitiesRequest{Request: base()}, connect.CodeInvalidArgument},
					{"WaitTooShort", &v1.WaitCapabilitiesRequest{Request: base(), Wait: durationpb.New(time.Millisecond)}, connect.CodeInvalidArgument},
					{"WaitBeyondMax", &v1.WaitCapabilitiesRequest{Request: base(), Wait: durationpb.New(2 * time.Hour)}, connect.CodeInvalidArgument},
					{"Preview", &v1.WaitCapabilitiesRequest{Request: preview, Wait: durationpb.New(time.Minute)}, connect.CodeInvalidArgument},
					{"RequestID", &v1.WaitCapabilitiesRequest{Request: reqID, Wait: durationpb.New(time.Minute)}, connect.CodeInvalidArgument},
				} {
					t.Run(tc.name, func(t *testing.T) {
						st, err := s.Capability(p, f.ContractToken).WaitCapabilities(context.Background(), connect.NewRequest(tc.req))
						if err == nil {
							defer st.Close()
							for st.Receive() {
								t.Fatalf("got message %v, want error %v", st.Msg(), tc.want)
							}
							err = st.Err()
						}
						if got := connect.CodeOf(err); got != tc.want {
							t.Fatalf("got %v, want code %v", err, tc.want)
						}
					})
				}
				if got := f.poolState(t); got != "gpu-export=0/2 solver=0/10 leases=0" {
					t.Errorf("pool after refusals: got %s, want nothing taken", got)
				}
			})

			t.Run("GrantedAtOnce", func(t *testing.T) {
				f := newCapFixture(t, s)
				m := next(t, f.waitFor(t, context.Background(), p, "i", time.Minute, "solver", 3))
				if !m.GetAnswer().GetGranted() || m.GetPosition() != 0 || m.GetAnswer().GetCapabilityToken() == "" {
					t.Fatalf("got %v, want a signed grant with no position", m)
				}
			})

			t.Run("TimesOut", func(t *testing.T) {
				f := newCapFixture(t, s)
				f.ask(t, p, "holder", "gpu-export", 2)
				st := f.waitFor(t, context.Background(), p, "w", 30*time.Second, "gpu-export", 1)
				if m := next(t, st); m.GetPosition() != 1 {
					t.Fatalf("got %v, want position 1", m)
				}
				s.Clock.Advance(31 * time.Second)
				m := next(t, st)
				if m.GetAnswer() == nil || m.GetAnswer().GetGranted() || !m.GetTimedOut() {
					t.Fatalf("got %v, want a denial that timed out", m)
				}
				if sh := m.GetAnswer().GetShortages(); len(sh) != 1 || sh[0].GetFeature() != "gpu-export" {
					t.Errorf("shortages: got %v, want gpu-export", sh)
				}
				if got := f.waiting(t); got != 0 {
					t.Errorf("waiting after the timeout: got %d, want 0", got)
				}
			})

			t.Run("ExpiryGoesToHead", func(t *testing.T) {
				f := newCapFixture(t, s)
				if _, err := s.Admin(testserver.GRPC, f.AdminToken).ResizePool(context.Background(), connect.NewRequest(&v1.ResizePoolRequest{
					PoolId: f.PoolID, LeaseTtl: durationpb.New(time.Minute)})); err != nil {
					t.Fatalf("ResizePool: %v", err)
				}
				f.ask(t, p, "holder", "gpu-export", 2) // never renewed: ends in a minute
				st := f.waitFor(t, context.Background(), p, "w", 5*time.Minute, "gpu-export", 1)
				if m := next(t, st); m.GetPosition() != 1 {
					t.Fatalf("got %v, want position 1", m)
				}
				// No return and no reaper: the waiter wakes when the lease
				// it was told of ends, and its own grant frees it.
				s.Clock.Advance(time.Minute + time.Second)
				m := next(t, st)
				if !m.GetAnswer().GetGranted() {
					t.Fatalf("after the holder's lease expired: got %v, want a grant", m)
				}
			})

			t.Run("CancelLeavesQueue", func(t *testing.T) {
				f := newCapFixture(t, s)
				f.ask(t, p, "holder", "gpu-export", 2)
				ctx, cancel := context.WithCancel(context.Background())
				a := f.waitFor(t, ctx, p, "a", time.Minute, "gpu-export", 1)
				if m := next(t, a); m.GetPosition() != 1 {
					t.Fatalf("a: got %v, want position 1", m)
				}
				b := f.waitFor(t, context.Background(), p, "b", time.Minute, "gpu-export", 1)
				if m := next(t, b); m.GetPosition() != 2 {
					t.Fatalf("b: got %v, want position 2", m)
				}
				cancel()
				// a's leaving wakes b, which moves up.
				if m := next(t, b); m.GetPosition() != 1 {
					t.Fatalf("b after a left: got %v, want position 1", m)
				}
				if got := f.waiting(t); got != 1 {
					t.Errorf("waiting: got %d, want 1", got)
				}
			})

			t.Run("Express", func(t *testing.T) {
				f := newCapFixture(t, s)
				f.ask(t, p, "holder", "solver", 9)
				big := f.waitFor(t, context.Background(), p, "big", time.Minute, "solver", 5)
				if m := next(t, big); m.GetPosition() != 1 {
					t.Fatalf("big: got %v, want position 1", m)
				}
				// First come, first served: 1 solver is free, but promised.
				r := f.ask(t, p, "small", "solver", 1)
				if r.GetGranted() || len(r.GetShortages()) != 1 || !r.GetShortages()[0].GetQueued() || r.GetShortages()[0].GetAvailable() != 0 {
					t.Fatalf("small behind the queue: got %v, want a queued denial", r)
				}
				on := true
				if _, err := s.Admin(testserver.GRPC, f.AdminToken).ResizePool(context.Background(), connect.NewRequest(&v1.ResizePoolRequest{
					PoolId: f.PoolID, Express: &on})); err != nil {
					t.Fatalf("ResizePool express: %v", err)
				}
				// Express: what fits now passes the larger waiting request.
				if r := f.ask(t, p, "small", "solver", 1); !r.GetGranted() {
					t.Fatalf("small on an express pool: got %v, want a grant", r)
				}
				if got := f.waiting(t); got != 1 {
					t.Errorf("waiting: got %d, want big still waiting", got)
				}
			})
		})
	}
}

// TestWaitStreamsBound: one contract's waiting streams are bounded
// (--wait-streams); one over the bound is RESOURCE_EXHAUSTED naming the
// limit, with a retry hint, and a slot freed by a closed stream is taken
// again.
func TestWaitStreamsBound(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Configure: func(c *server.Config) { c.Limits.WaitStreams = 1 }})
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			f := newCapFixture(t, s)
			f.ask(t, p, "holder", "gpu-export", 2)
			ctx, cancel := context.WithCancel(context.Background())
			first := f.waitFor(t, ctx, p, "w1", time.Minute, "gpu-export", 1)
			if m := next(t, first); m.GetPosition() != 1 {
				t.Fatalf("first wait: got %v, want position 1", m)
			}
			second := f.waitFor(t, context.Background(), p, "w2", time.Minute, "gpu-export", 1)
			if second.Receive() {
				t.Fatalf("second wait: got %v, want it refused", second.Msg())
			}
			err := second.Err()
			var ce *connect.Error
			if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "1 requests waiting") || !strings.Contains(err.Error(), "--wait-streams") {
				t.Fatalf("second wait: got %v, want resource_exhausted naming the limit and the flag", err)
			}
			if errors.As(err, &ce); ce.Meta().Get(rpcerr.HeaderRetryAfter) == "" {
				t.Errorf("second wait: no retry hint")
			}
			cancel() // the first leaves the queue and frees its slot
			_ = first.Close()
			for i := 0; ; i++ {
				st := f.waitFor(t, context.Background(), p, "w3", time.Minute, "gpu-export", 1)
				if st.Receive() {
					break
				}
				if connect.CodeOf(st.Err()) != connect.CodeResourceExhausted || i == 5000 {
					t.Fatalf("a wait after the first closed: %v", st.Err())
				}
				runtime.Gosched() // the server sees the close asynchronously
			}
		})
	}
}
