package crashtest

import (
	"context"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// Load: more instances than the demo contract's 25 seats, so that seats
// run out; lease holders that together want more than the pool's units.
const (
	seatWorkers      = 3
	instancesPerSeat = 10
	leaseWorkers     = 6
	// maxOpsBeforeKill bounds the answers the clients get between two kills.
	maxOpsBeforeKill = 400
)

// TestCrash kills the server with SIGKILL at random moments under mixed
// load, -crash.n times, restarting it on the same data directory, and
// checks after each kill what a crash must not break. No check depends on
// timing: the kill moment is random, and every wait is for a condition.
func TestCrash(t *testing.T) {
	bin := serverBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	var st stats
	insts := make([]*instance, seatWorkers*instancesPerSeat)
	for i := range insts {
		insts[i] = &instance{id: fmt.Sprintf("crash-seat-%02d", i)}
	}
	holders := make([]*leaseHolder, leaseWorkers)
	for i := range holders {
		holders[i] = &leaseHolder{instance: fmt.Sprintf("crash-lease-%02d", i), returned: map[string]bool{}}
	}

	for round := 0; round <= *crashN; round++ {
		srv, err := startServer(t, bin, data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		d := readDemo(t, data)
		hc := httpClient(t, d)
		waitReady(t, hc, srv.addr)
		c := newClients(hc, srv.addr, d)
		ctx := context.Background()
		checkModes(t, data)
		resolve(ctx, t, c, insts, holders, &st)
		check(ctx, t, c, insts, holders, &st)
		if t.Failed() {
			t.Fatalf("round %d: server log:\n%s", round, srv.log())
		}
		if round == *crashN {
			srv.kill()
			break
		}

		// Load, and a kill at a random moment while it runs.
		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range seatWorkers {
			wg.Go(func() { seatWorker(lctx, t, c, insts[w*instancesPerSeat:(w+1)*instancesPerSeat], &st) })
		}
		for _, h := range holders {
			wg.Go(func() { leaseWorker(lctx, t, c, h, &st) })
		}
		// The kill comes after a random number of answers, while the
		// other workers' calls are anywhere in flight.
		select {
		case <-st.killAfter(1 + mrand.IntN(maxOpsBeforeKill)):
		case <-srv.done:
			t.Fatalf("round %d: the server exited under load (%v):\n%s", round, srv.err, srv.log())
		case <-time.After(guard):
			t.Fatalf("round %d: the load got no answers within %v", round, guard)
		}
		srv.kill()
		stop()
		wg.Wait()
		hc.CloseIdleConnections()
		integrityCheck(t, filepath.Join(data, "licensor.db"))
	}
	t.Logf("%d kills; acknowledged: %d licenses (%d seat refusals), %d seat releases, %d lease grants (%d refusals), %d returns, %d force-releases; %d calls left unanswered by a kill and sent again; "+
		"checked after restarts: %d held seats, %d held leases, %d given-back leases gone",
		*crashN, st.licenses, st.seatDenials, st.seatReleases, st.grants, st.leaseDenials, st.returns, st.revokes, st.unanswered,
		st.seatsChecked, st.leasesChecked, st.goneCheck)
	if st.grants == 0 || st.licenses == 0 {
		t.Errorf("the load acknowledged %d lease grants and %d licenses: it checked nothing", st.grants, st.licenses)
	}
}

// check compares the server's state with what the clients were told.
func check(ctx context.Context, t *testing.T, c *clients, insts []*instance, holders []*leaseHolder, st *stats) {
	t.Helper()
	checkSeats(ctx, t, c, insts, st)
	checkLeases(ctx, t, c, holders, st)
}

func checkSeats(ctx context.Context, t *testing.T, c *clients, insts []*instance, st *stats) {
	t.Helper()
	con, err := c.admin.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{TenantId: c.d.TenantID, ContractId: c.d.ContractID}))
	if err != nil {
		t.Fatalf("GetContract: %v", err)
	}
	seated := map[string]bool{}
	page := ""
	for {
		res, err := c.admin.ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{TenantId: c.d.TenantID, ContractId: c.d.ContractID, PageSize: 100, PageToken: page}))
		if err != nil {
			t.Fatalf("ListInstances: %v", err)
		}
		for _, in := range res.Msg.GetInstances() {
			if in.GetSeat() {
				seated[in.GetInstanceId()] = true
			}
		}
		if page = res.Msg.GetNextPageToken(); page == "" {
			break
		}
	}
	used, limit := con.Msg.GetContract().GetSeatsUsed(), con.Msg.GetContract().GetMaxSeats()
	if int(used) != len(seated) {
		t.Errorf("seats used: got %d, want %d (the instances holding a seat)", used, len(seated))
	}
	if used > limit {
		t.Errorf("seats used: got %d, want at most the contract's %d", used, limit)
	}
	for _, in := range insts {
		switch {
		case in.seat == seatHeld && !seated[in.id]:
			t.Errorf("instance %s: was granted a seat, and after the restart holds none", in.id)
		case in.seat == seatFree && seated[in.id]:
			t.Errorf("instance %s: holds a seat after the restart; its last acknowledged answer was none or a release", in.id)
		}
		if in.seat == seatHeld {
			st.add(func(s *stats) { s.seatsChecked++ })
		}
	}
}

func checkLeases(ctx context.Context, t *testing.T, c *clients, holders []*leaseHolder, st *stats) {
	t.Helper()
	live := map[string]map[string]int64{}
	page := ""
	for {
		res, err := c.admin.ListLeases(ctx, connect.NewRequest(&v1.ListLeasesRequest{TenantId: c.d.TenantID, PoolId: c.d.PoolID, PageSize: 100, PageToken: page}))
		if err != nil {
			t.Fatalf("ListLeases: %v", err)
		}
		for _, l := range res.Msg.GetLeases() {
			u := map[string]int64{}
			for _, cu := range l.GetUnits() {
				u[cu.GetFeature()] += cu.GetUnits()
			}
			live[l.GetId()] = u
		}
		if page = res.Msg.GetNextPageToken(); page == "" {
			break
		}
	}
	known := map[string]bool{}
	for _, h := range holders {
		for _, l := range h.held {
			known[l.id] = true
			got, ok := live[l.id]
			switch {
			case !ok:
				t.Errorf("lease %s of %s: granted, and gone after the restart", l.id, h.instance)
			case fmt.Sprint(got) != fmt.Sprint(l.units):
				t.Errorf("lease %s: got units %v after the restart, want %v", l.id, got, l.units)
			}
			st.add(func(s *stats) { s.leasesChecked++ })
		}
		for id := range h.returned {
			if _, ok := live[id]; ok {
				t.Errorf("lease %s of %s: given back, and live again after the restart", id, h.instance)
			}
			st.add(func(s *stats) { s.goneCheck++ })
		}
	}
	sum := map[string]int64{}
	for id, u := range live {
		if !known[id] {
			t.Errorf("lease %s (%v): live after the restart, and no client was granted it", id, u)
		}
		for f, n := range u {
			sum[f] += n
		}
	}
	pool, err := c.admin.GetPool(ctx, connect.NewRequest(&v1.GetPoolRequest{TenantId: c.d.TenantID, PoolId: c.d.PoolID}))
	if err != nil {
		t.Fatalf("GetPool: %v", err)
	}
	for _, f := range pool.Msg.GetPool().GetFeatures() {
		if f.GetInUse() != sum[f.GetFeature()] {
			t.Errorf("pool feature %s: in use %d, want %d (the sum of its live leases)", f.GetFeature(), f.GetInUse(), sum[f.GetFeature()])
		}
		if f.GetInUse() > f.GetMaxUnits() {
			t.Errorf("pool feature %s: in use %d, want at most its %d units", f.GetFeature(), f.GetInUse(), f.GetMaxUnits())
		}
	}
}

// checkModes: the directory the server made is 0700, and every file in it
// but the public TLS certificate 0600 (the database's too, whatever its
// -wal and -shm files were made with after a crash).
func checkModes(t *testing.T, data string) {
	t.Helper()
	err := filepath.WalkDir(data, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		switch {
		case path == data:
			want = 0o700
		case e.Name() == "tls-cert.pem":
			want = 0o644
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: got mode %#o, want %#o", path, got, want)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}
