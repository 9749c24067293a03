package clustertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/testserver"
)

// wait is the generous deadline for what must happen.
const wait = 15 * time.Second

// startCluster starts n servers on one new PostgreSQL schema, sharing the
// clock and the master key, as replicas behind a load balancer do.
func startCluster(t testing.TB, n int) []*testserver.Server {
	t.Helper()
	url, schema := pgtest.Schema(t)
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	sealer, err := signing.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	clock := testserver.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	servers := make([]*testserver.Server, n)
	for i := range servers {
		servers[i] = testserver.Start(t, testserver.Options{
			Clock:  clock,
			Sealer: sealer,
			OpenStore: func(t testing.TB) (licensor.Store, licensor.ChangeFeed) {
				db := pgtest.OpenSchema(t, url, schema)
				return db, db.ChangeFeed()
			},
		})
	}
	return servers
}

// TestWatchAcrossServers: a contract extended through server A reaches a
// WatchLicense stream held on server C.
func TestWatchAcrossServers(t *testing.T) {
	pgtest.URL(t)
	cluster := startCluster(t, 3)
	a, c := cluster[0], cluster[2]
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			f := a.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			stream, err := c.License(p, f.ContractToken).WatchLicense(ctx,
				connect.NewRequest(&v1.WatchLicenseRequest{ContractId: f.ContractID, InstanceId: "watcher"}))
			if err != nil {
				t.Fatalf("WatchLicense on C: %v", err)
			}
			defer stream.Close()
			if !stream.Receive() {
				t.Fatalf("first license on C: got none, error %v", stream.Err())
			}
			first := stream.Msg().License
			if _, err := a.Admin(p, f.AdminToken).ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{
				ContractId: f.ContractID, ExtendBy: durationpb.New(30 * 24 * time.Hour)})); err != nil {
				t.Fatalf("ExtendContract on A: %v", err)
			}
			// A (re)connecting feed may wake the stream once more without a
			// change; read until the extension arrives or the deadline.
			for stream.Receive() {
				if got := stream.Msg().License; got.ContractVersion > first.ContractVersion {
					return
				}
			}
			t.Fatalf("stream on C: got no license of a newer contract version than %d before the deadline (error %v)", first.ContractVersion, stream.Err())
		})
	}
}

// getLicense asks server i for a license for instance, moving on to the
// next server while the one asked is unreachable (a load balancer's
// retry). It returns the final outcome's error code.
func getLicense(ctx context.Context, cluster []*testserver.Server, alive func(int) bool, f *testserver.Fixture, p testserver.Protocol, i int, instance string) error {
	var err error
	for try := range 2 * len(cluster) {
		s := (i + try) % len(cluster)
		if !alive(s) {
			continue
		}
		_, err = cluster[s].License(p, f.ContractToken).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: instance}))
		if err == nil || !lostAnswer(err) {
			return err
		}
	}
	return err
}

// lostAnswer reports whether err is what a client sees when its server goes
// away mid-call (the connection refused or cut, an envelope cut short): a
// client retries such a call on another server. The calls here are
// idempotent (the same instance id, the same request id), so a retry never
// takes a second seat or unit.
func lostAnswer(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeCanceled, connect.CodeInternal, connect.CodeAborted:
		return true
	}
	return false
}

// seatsHeld returns the instances holding a seat of the contract, and the
// contract's seat counter, straight from the shared database.
func seatsHeld(t *testing.T, s *testserver.Server, f *testserver.Fixture) (map[string]bool, int) {
	t.Helper()
	ctx := licensor.WithTenant(context.Background(), f.TenantID)
	held := map[string]bool{}
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		list, err := s.Store.ListInstances(ctx, licensor.InstanceFilter{ContractID: f.ContractID, ListOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range list {
			if inst.Seat {
				held[inst.ID] = true
			}
		}
		if len(list) < opts.Limit {
			break
		}
		opts.After = list[len(list)-1].ID
	}
	c, err := s.Store.GetContract(ctx, f.ContractID)
	if err != nil {
		t.Fatal(err)
	}
	return held, c.SeatsUsed
}

// TestSeatsAcrossServers: 100 new instances spread over three servers race
// for a 10-seat contract: exactly 10 get a license.
func TestSeatsAcrossServers(t *testing.T) {
	pgtest.URL(t)
	cluster := startCluster(t, 3)
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			f := cluster[0].NewFixture(t, testserver.FixtureOptions{MaxSeats: 10})
			const n = 100
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = cluster[i%3].License(p, f.ContractToken).GetLicense(context.Background(),
						connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: fmt.Sprintf("node-%03d", i)}))
				})
			}
			close(start)
			wg.Wait()
			granted := map[string]bool{}
			for i, err := range errs {
				switch {
				case err == nil:
					granted[fmt.Sprintf("node-%03d", i)] = true
				case connect.CodeOf(err) == connect.CodeResourceExhausted:
				default:
					t.Errorf("instance %d: got error %v, want a license or RESOURCE_EXHAUSTED", i, err)
				}
			}
			held, used := seatsHeld(t, cluster[1], f)
			if len(granted) != 10 || len(held) != 10 || used != 10 {
				t.Errorf("got %d licenses granted, %d instances holding a seat, SeatsUsed %d; want 10, 10, 10", len(granted), len(held), used)
			}
			for id := range granted {
				if !held[id] {
					t.Errorf("instance %s got a license but holds no seat", id)
				}
			}
		})
	}
}

// TestKillServerMidLoad: 150 new instances ask three servers for a 30-seat
// contract; one server is killed once the load is under way. Clients whose
// server went away ask another with the same instance id (as a client
// behind a load balancer does). In the end exactly 30 instances hold a
// license and a seat, the counter agrees, and every instance that got a
// license holds its seat: nothing granted was lost or counted twice.
func TestKillServerMidLoad(t *testing.T) {
	pgtest.URL(t)
	cluster := startCluster(t, 3)
	p := testserver.GRPC
	f := cluster[0].NewFixture(t, testserver.FixtureOptions{MaxSeats: 30})
	const n, seats, killAfter = 150, 30, 40
	var mu sync.Mutex
	dead := map[int]bool{}
	alive := func(i int) bool { mu.Lock(); defer mu.Unlock(); return !dead[i] }
	kill := make(chan struct{})
	var killOnce sync.Once
	var done sync.WaitGroup
	done.Go(func() {
		<-kill
		mu.Lock()
		dead[1] = true
		mu.Unlock()
		cluster[1].CloseClientConnections() // in-flight calls lose their answers
		cluster[1].Close()
	})

	errs := make([]error, n)
	var count int
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = getLicense(context.Background(), cluster, alive, f, p, i, fmt.Sprintf("node-%03d", i))
			mu.Lock()
			count++
			if count == killAfter {
				killOnce.Do(func() { close(kill) })
			}
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	killOnce.Do(func() { close(kill) })
	done.Wait()

	granted := map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			granted[fmt.Sprintf("node-%03d", i)] = true
		case connect.CodeOf(err) == connect.CodeResourceExhausted:
		default:
			t.Errorf("instance %d: got error %v, want a license or RESOURCE_EXHAUSTED", i, err)
		}
	}
	held, used := seatsHeld(t, cluster[0], f)
	if used != len(held) {
		t.Errorf("SeatsUsed %d, but %d instances hold a seat: the counter drifted", used, len(held))
	}
	for id := range granted {
		if !held[id] {
			t.Errorf("instance %s got a license but holds no seat: a grant was lost", id)
		}
	}
	// An instance may hold a seat whose answer died with server B and whose
	// retry found the seats gone; every other seat holder got its license.
	if used > seats || len(granted) > seats {
		t.Errorf("got %d granted and %d seats used, want at most %d", len(granted), used, seats)
	}
	if len(held) != seats {
		t.Errorf("instances holding a seat: got %d, want all %d taken (150 asked)", len(held), seats)
	}
	for id := range held {
		if !granted[id] {
			// The retry with the same id refreshes the seat it holds, so a
			// lost answer never leaves a seat without its license.
			t.Errorf("instance %s holds a seat but got no license", id)
		}
	}
}
