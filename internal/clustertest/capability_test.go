package clustertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/testserver"
)

// poolFixture is a tenant (with a threshold high enough for the load) and
// a pool of units of solver, made through server 0.
type poolFixture struct {
	*testserver.Fixture
	PoolID string
}

func newPoolFixture(t testing.TB, cluster []*testserver.Server, units int64) *poolFixture {
	t.Helper()
	s := cluster[0]
	f := s.NewFixture(t, testserver.FixtureOptions{})
	ctx := context.Background()
	limit := int32(10000)
	if _, err := s.Admin(testserver.GRPC, s.OperatorToken).UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{
		TenantId: f.TenantID, ConcurrencyLimit: &limit})); err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	res, err := s.Admin(testserver.GRPC, f.AdminToken).CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{
		CustomerId: f.CustomerID, Name: "floating", Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: units}}}))
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	return &poolFixture{Fixture: f, PoolID: res.Msg.Pool.Id}
}

// poolState reads the pool's units in use and its leases straight from the
// shared database.
func poolState(t *testing.T, s *testserver.Server, f *poolFixture) (inUse int64, leases map[string]int64) {
	t.Helper()
	ctx := licensor.WithTenant(context.Background(), f.TenantID)
	p, err := s.Store.GetPool(ctx, f.PoolID)
	if err != nil {
		t.Fatal(err)
	}
	for _, pf := range p.Features {
		inUse += pf.InUse
	}
	leases = map[string]int64{}
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		ls, err := s.Store.ListLeases(ctx, licensor.LeaseFilter{PoolID: f.PoolID, ListOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			for _, u := range l.Units {
				leases[l.ID] += u.Units
			}
		}
		if len(ls) < opts.Limit {
			return inUse, leases
		}
		opts.After = ls[len(ls)-1].ID
	}
}

func request(ctx context.Context, s *testserver.Server, p testserver.Protocol, f *poolFixture, instance, requestID string) (*v1.RequestCapabilitiesResponse, error) {
	res, err := s.Capability(p, f.ContractToken).RequestCapabilities(ctx, connect.NewRequest(&v1.RequestCapabilitiesRequest{
		ContractId: f.ContractID, InstanceId: instance, RequestId: requestID,
		Capabilities: []*v1.CapabilityUnits{{Feature: "solver", Units: 1}}}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// TestCapabilitiesAcrossServers: 300 concurrent requests for one unit each,
// spread over three servers, on a pool of 10: exactly 10 are granted, and
// the pool and its leases agree.
func TestCapabilitiesAcrossServers(t *testing.T) {
	pgtest.URL(t)
	cluster := startCluster(t, 3)
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			f := newPoolFixture(t, cluster, 10)
			const n = 300
			granted := make([]string, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					res, err := request(context.Background(), cluster[i%3], p, f, fmt.Sprintf("dev-%03d", i), "")
					switch {
					case err != nil:
						t.Errorf("request %d: got error %v, want a grant or a denial", i, err)
					case res.Granted:
						granted[i] = res.Lease.GetId()
					case len(res.Shortages) != 1 || res.Shortages[0].GetFeature() != "solver":
						t.Errorf("request %d: denied with shortages %v, want one of solver", i, res.Shortages)
					}
				})
			}
			close(start)
			wg.Wait()
			inUse, leases := poolState(t, cluster[1], f)
			got := 0
			for i, id := range granted {
				if id == "" {
					continue
				}
				got++
				if leases[id] != 1 {
					t.Errorf("request %d: granted lease %s holds %d units in the database, want 1", i, id, leases[id])
				}
			}
			if got != 10 || inUse != 10 || len(leases) != 10 {
				t.Errorf("got %d granted, %d units in use, %d leases; want 10, 10, 10", got, inUse, len(leases))
			}
		})
	}
}

// TestCapabilitiesKillServerMidLoad: 300 requests over three servers for a
// pool of 10; server B is killed once the load is under way. A client whose
// server went away retries on another with the same request id (the
// client library does), which answers with the first answer if B had
// committed it. In the end every granted lease is in the database, every
// lease in the database was granted to someone, and the units in use agree.
func TestCapabilitiesKillServerMidLoad(t *testing.T) {
	pgtest.URL(t)
	cluster := startCluster(t, 3)
	p := testserver.GRPC
	f := newPoolFixture(t, cluster, 10)
	const n, killAfter = 300, 60
	var mu sync.Mutex
	dead := map[int]bool{}
	answered := 0
	kill := make(chan struct{})
	var killOnce sync.Once
	var killed sync.WaitGroup
	killed.Go(func() {
		<-kill
		mu.Lock()
		dead[1] = true
		mu.Unlock()
		cluster[1].CloseClientConnections()
		cluster[1].Close()
	})
	alive := func(i int) bool { mu.Lock(); defer mu.Unlock(); return !dead[i] }

	granted := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			instance, requestID := fmt.Sprintf("dev-%03d", i), fmt.Sprintf("req-%03d", i)
			for try := range 6 {
				s := (i + try) % 3
				if !alive(s) {
					continue
				}
				res, err := request(context.Background(), cluster[s], p, f, instance, requestID)
				errs[i] = err
				if err == nil {
					if res.Granted {
						granted[i] = res.Lease.GetId()
					}
					break
				}
				if !lostAnswer(err) {
					break
				}
			}
			mu.Lock()
			answered++
			if answered == killAfter {
				killOnce.Do(func() { close(kill) })
			}
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	killOnce.Do(func() { close(kill) })
	killed.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: got error %v, want a grant or a denial", i, err)
		}
	}
	inUse, leases := poolState(t, cluster[0], f)
	got := map[string]bool{}
	for i, id := range granted {
		if id == "" {
			continue
		}
		got[id] = true
		if leases[id] != 1 {
			t.Errorf("request %d: granted lease %s holds %d units in the database, want 1 (a grant was lost)", i, id, leases[id])
		}
	}
	for id := range leases {
		if !got[id] {
			t.Errorf("lease %s is in the database but nobody was told it was granted", id)
		}
	}
	var sum int64
	for _, u := range leases {
		sum += u
	}
	if len(got) != 10 || inUse != 10 || sum != 10 {
		t.Errorf("got %d granted, %d units in use, %d units in leases; want 10, 10, 10", len(got), inUse, sum)
	}
}
