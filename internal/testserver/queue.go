package testserver

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// queueBound bounds each step of QueueFairness: a waiter lost or never
// woken fails the test instead of hanging it.
const queueBound = 2 * time.Minute

// waitResult is how one waiter's stream ended.
type waitResult struct {
	index int
	lease string
	err   error
}

// QueueFairness runs waiters requests for one unit each, spread over
// servers, against a pool of units units all held, and gives the units
// back units at a time (each return through another server). It checks
// that each waiter first hears its place in the queue, that its places
// only go down, that each batch of units goes to the next waiters in the
// order they joined, that no waiter is lost and no unit is granted twice
// (the pool never has more than units in use). Nothing moves the clock:
// every grant is woken by a return.
func QueueFairness(t testing.TB, servers []*Server, p Protocol, waiters, units int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*queueBound)
	defer cancel()
	f := servers[0].NewFixture(t, FixtureOptions{})
	adm := servers[0].Admin(GRPC, f.AdminToken)
	pr, err := adm.CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{CustomerId: f.CustomerID, Name: "queue",
		Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: int64(units)}}}))
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	poolID := pr.Msg.GetPool().GetId()
	clients := make([]licensorv1connect.CapabilityServiceClient, len(servers))
	for i, s := range servers {
		clients[i] = s.Capability(p, f.ContractToken)
	}
	ask := func(instance string) *v1.RequestCapabilitiesRequest {
		return &v1.RequestCapabilitiesRequest{ContractId: f.ContractID, InstanceId: instance,
			Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: 1}}, PoolId: poolID}
	}
	type held struct{ instance, lease string }
	var holding []held
	for i := range units {
		inst := fmt.Sprintf("holder-%d", i)
		r, err := clients[i%len(clients)].RequestCapabilities(ctx, connect.NewRequest(ask(inst)))
		if err != nil || !r.Msg.GetGranted() {
			t.Fatalf("RequestCapabilities %s: granted %v, error %v; want a grant", inst, r.Msg.GetGranted(), err)
		}
		holding = append(holding, held{inst, r.Msg.GetLease().GetId()})
	}

	results := make(chan waitResult, waiters)
	for i := range waiters {
		inst := fmt.Sprintf("waiter-%03d", i)
		stream, err := clients[i%len(clients)].WaitCapabilities(ctx, connect.NewRequest(&v1.WaitCapabilitiesRequest{
			Request: ask(inst), Wait: durationpb.New(10 * time.Minute)}))
		if err != nil {
			t.Fatalf("WaitCapabilities %s: %v", inst, err)
		}
		// Join in order: the next one opens once this one has its place.
		if !stream.Receive() {
			t.Fatalf("WaitCapabilities %s: stream ended before its position: %v", inst, stream.Err())
		}
		if got := stream.Msg().GetPosition(); got != int32(i+1) {
			t.Fatalf("WaitCapabilities %s: got position %d, want %d", inst, got, i+1)
		}
		go func(i int) {
			defer stream.Close()
			last := int32(i + 1)
			for stream.Receive() {
				m := stream.Msg()
				if a := m.GetAnswer(); a != nil {
					if !a.GetGranted() {
						results <- waitResult{index: i, err: fmt.Errorf("denied (timed out %v)", m.GetTimedOut())}
						return
					}
					results <- waitResult{index: i, lease: a.GetLease().GetId()}
					return
				}
				if m.GetPosition() > last || m.GetPosition() < 1 {
					results <- waitResult{index: i, err: fmt.Errorf("position went from %d to %d", last, m.GetPosition())}
					return
				}
				last = m.GetPosition()
			}
			results <- waitResult{index: i, err: fmt.Errorf("stream ended without an answer: %v", stream.Err())}
		}(i)
	}
	checkPool := func(what string, waiting int) {
		t.Helper()
		g, err := adm.GetPool(ctx, connect.NewRequest(&v1.GetPoolRequest{PoolId: poolID}))
		if err != nil {
			t.Fatalf("GetPool %s: %v", what, err)
		}
		inUse := g.Msg.GetPool().GetFeatures()[0].GetInUse()
		if inUse != int64(units) || len(g.Msg.GetLeases()) != units || g.Msg.GetPool().GetWaiting() != int32(waiting) {
			t.Fatalf("pool %s: got %d in use, %d leases, %d waiting; want %d, %d, %d",
				what, inUse, len(g.Msg.GetLeases()), g.Msg.GetPool().GetWaiting(), units, units, waiting)
		}
	}
	checkPool("with every waiter queued", waiters)

	granted := make(map[string]bool, waiters)
	next := 0 // the next waiter due
	for round := 0; next < waiters; round++ {
		k := min(units, waiters-next)
		back := holding[:k]
		holding = slices.Clone(holding[k:])
		errs := make(chan error, k)
		for j, h := range back {
			go func() {
				_, err := clients[(round+j)%len(clients)].ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{
					ContractId: f.ContractID, InstanceId: h.instance, LeaseId: h.lease}))
				errs <- err
			}()
		}
		for range k {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: ReturnCapabilities: %v", round, err)
			}
		}
		var got []int
		timeout := time.NewTimer(queueBound)
		for range k {
			select {
			case r := <-results:
				if r.err != nil {
					t.Fatalf("round %d: waiter-%03d: %v", round, r.index, r.err)
				}
				if granted[r.lease] {
					t.Fatalf("round %d: lease %s granted twice", round, r.lease)
				}
				granted[r.lease] = true
				got = append(got, r.index)
				holding = append(holding, held{fmt.Sprintf("waiter-%03d", r.index), r.lease})
			case <-timeout.C:
				t.Fatalf("round %d: got grants for %v after returning %d units; want %d grants", round, got, k, k)
			}
		}
		timeout.Stop()
		slices.Sort(got)
		for j, idx := range got {
			if idx != next+j {
				t.Fatalf("round %d: got grants for waiters %v; want %d to %d, the next in the queue", round, got, next, next+k-1)
			}
		}
		next += k
		checkPool(fmt.Sprintf("after round %d", round), waiters-next)
	}
	select {
	case r := <-results:
		t.Fatalf("an answer beyond the units returned: %+v", r)
	default:
	}
}
