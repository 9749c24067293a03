package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// wbContract creates a tenant and a contract with maxSeats seats.
func wbContract(t *testing.T, db *DB, maxSeats int) (context.Context, *licensor.Contract) {
	t.Helper()
	bg := context.Background()
	ten := &licensor.Tenant{Name: "WB", ConcurrencyLimit: 60, ExpiryWarning: licensor.DefaultExpiryWarning}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: got error %v, want none", what, err)
		}
	}
	must("CreateTenant", db.CreateTenant(bg, ten))
	ctx := licensor.WithTenant(bg, ten.ID)
	p, cu := &licensor.Product{Name: "Solver"}, &licensor.Customer{Name: "Globex"}
	must("CreateProduct", db.CreateProduct(ctx, p))
	must("CreateCustomer", db.CreateCustomer(ctx, cu))
	c := &licensor.Contract{CustomerID: cu.ID, ProductID: p.ID, StartsAt: wbT0.Add(-time.Hour), MaxSeats: maxSeats}
	must("Validate", c.Validate())
	must("CreateContract", db.CreateContract(ctx, c))
	return ctx, c
}

var wbT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func wbCheckin(contractID, instanceID, host string, at time.Duration) licensor.Checkin {
	now := wbT0.Add(at)
	return licensor.Checkin{
		ContractID: contractID, InstanceID: instanceID, TakesSeat: true, Host: host,
		Now: now, LicenseID: fmt.Sprintf("lic-%d", at/time.Second), LicenseExpiresAt: now.Add(time.Hour),
		CloneWindow: 15 * time.Minute,
	}
}

// rawLastSeen reads last_seen_at straight from the file, past the
// write-behind queue.
func rawLastSeen(t *testing.T, db *DB, contractID, instanceID string) time.Time {
	t.Helper()
	var us int64
	if err := db.r.QueryRow(`SELECT last_seen_at FROM instances WHERE contract_id = ? AND instance_id = ?`,
		contractID, instanceID).Scan(&us); err != nil {
		t.Fatalf("raw read: %v", err)
	}
	return store.FromMicros(us)
}

func TestWriteBehind(t *testing.T) {
	t.Run("RefreshQueuedThenVisibleToReads", func(t *testing.T) {
		db, _ := openTemp(t, WithFlushInterval(time.Hour))
		ctx, c := wbContract(t, db, 1)
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", 0))
		got := mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", time.Minute))
		if want := wbT0.Add(time.Minute); !got.LastSeenAt.Equal(want) || !got.Seat {
			t.Fatalf("answer: got last seen %v seat %v, want %v true", got.LastSeenAt, got.Seat, want)
		}
		if got, want := rawLastSeen(t, db, c.ID, "a"), wbT0; !got.Equal(want) {
			t.Fatalf("file before a flush: got last seen %v, want %v (the refresh queued)", got, want)
		}
		inst, err := db.GetInstance(ctx, c.ID, "a")
		if err != nil {
			t.Fatalf("GetInstance: %v", err)
		}
		if want := wbT0.Add(time.Minute); !inst.LastSeenAt.Equal(want) || inst.LicenseID != "lic-60" {
			t.Errorf("GetInstance: got last seen %v license %q, want %v %q", inst.LastSeenAt, inst.LicenseID, want, "lic-60")
		}
		if got, want := rawLastSeen(t, db, c.ID, "a"), wbT0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("file after GetInstance: got last seen %v, want %v", got, want)
		}
	})

	t.Run("CoalescedKeepsLastAndClone", func(t *testing.T) {
		db, _ := openTemp(t, WithFlushInterval(time.Hour))
		ctx, c := wbContract(t, db, 0)
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", 0))
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", time.Minute))
		// Another host within the clone window of the queued refresh.
		got := mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h2", 2*time.Minute))
		if want := wbT0.Add(2 * time.Minute); !got.CloneSuspectedAt.Equal(want) {
			t.Errorf("answer: got clone suspected at %v, want %v", got.CloneSuspectedAt, want)
		}
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h2", 3*time.Minute))
		list, err := db.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListInstances: got %d, %v, want 1 instance", len(list), err)
		}
		inst := list[0]
		if inst.Host != "h2" || !inst.LastSeenAt.Equal(wbT0.Add(3*time.Minute)) || !inst.CloneSuspectedAt.Equal(wbT0.Add(2*time.Minute)) {
			t.Errorf("stored: got host %q last seen %v clone %v, want h2 %v %v", inst.Host, inst.LastSeenAt, inst.CloneSuspectedAt,
				wbT0.Add(3*time.Minute), wbT0.Add(2*time.Minute))
		}
	})

	t.Run("ReleasedSeatCompetesSynchronously", func(t *testing.T) {
		db, _ := openTemp(t, WithFlushInterval(time.Hour))
		ctx, c := wbContract(t, db, 1)
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", 0))
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", time.Minute)) // queued
		if err := db.ReleaseSeat(ctx, c.ID, "a"); err != nil {
			t.Fatalf("ReleaseSeat: %v", err)
		}
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "b", "h9", 2*time.Minute)) // takes the one seat
		_, err := db.Checkin(ctx, wbCheckin(c.ID, "a", "h1", 3*time.Minute))
		if got, want := licensor.ErrorCode(err), licensor.EEXHAUSTED; got != want {
			t.Fatalf("Checkin of the released instance: got code %q (%v), want %q", got, err, want)
		}
		inst, err := db.GetInstance(ctx, c.ID, "a")
		if err != nil {
			t.Fatalf("GetInstance: %v", err)
		}
		if inst.Seat || !inst.LastSeenAt.Equal(wbT0.Add(time.Minute)) {
			t.Errorf("after the refused check-in: got seat %v last seen %v, want false %v", inst.Seat, inst.LastSeenAt, wbT0.Add(time.Minute))
		}
	})

	t.Run("SynchronousCheckinLandsAfterQueued", func(t *testing.T) {
		db, _ := openTemp(t, WithFlushInterval(time.Hour))
		ctx, c := wbContract(t, db, 1)
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", 0))
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h2", time.Minute)) // queued, clone
		if err := db.ReleaseSeat(ctx, c.ID, "a"); err != nil {
			t.Fatalf("ReleaseSeat: %v", err)
		}
		got := mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h2", 2*time.Minute)) // takes the seat again
		if !got.Seat || got.Host != "h2" || !got.LastSeenAt.Equal(wbT0.Add(2*time.Minute)) {
			t.Errorf("answer: got seat %v host %q last seen %v, want true h2 %v", got.Seat, got.Host, got.LastSeenAt, wbT0.Add(2*time.Minute))
		}
		if got, want := rawLastSeen(t, db, c.ID, "a"), wbT0.Add(2*time.Minute); !got.Equal(want) {
			t.Errorf("file: got last seen %v, want %v (the queued refresh must not land over it)", got, want)
		}
	})

	t.Run("CloseFlushes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "licensor.db")
		db, err := Open(t.Context(), path, WithFlushInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		ctx, c := wbContract(t, db, 0)
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", 0))
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", time.Minute))
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := db.Checkin(ctx, wbCheckin(c.ID, "a", "h1", 2*time.Minute)); err == nil {
			t.Errorf("Checkin after Close: got no error, want one")
		}
		db, err = Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		inst, err := db.GetInstance(ctx, c.ID, "a")
		if err != nil {
			t.Fatalf("GetInstance after reopening: %v", err)
		}
		if want := wbT0.Add(time.Minute); !inst.LastSeenAt.Equal(want) {
			t.Errorf("after reopening: got last seen %v, want %v", inst.LastSeenAt, want)
		}
	})

	t.Run("FlusherWritesOnItsOwn", func(t *testing.T) {
		db, _ := openTemp(t, WithFlushInterval(time.Millisecond))
		ctx, c := wbContract(t, db, 0)
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", 0))
		mustCheckin(t, db, ctx, wbCheckin(c.ID, "a", "h1", time.Minute))
		deadline := time.Now().Add(10 * time.Second)
		for !rawLastSeen(t, db, c.ID, "a").Equal(wbT0.Add(time.Minute)) {
			if time.Now().After(deadline) {
				t.Fatalf("the flusher did not write the queued refresh within 10 s")
			}
			runtime.Gosched()
		}
	})

	t.Run("ConcurrentRefreshes", func(t *testing.T) {
		db, _ := openTemp(t, WithFlushInterval(time.Millisecond))
		ctx, c := wbContract(t, db, 8)
		for i := range 8 {
			mustCheckin(t, db, ctx, wbCheckin(c.ID, fmt.Sprintf("i%d", i), "h", 0))
		}
		var wg sync.WaitGroup
		errs := make([]error, 64)
		for g := range 64 {
			wg.Go(func() {
				for n := range 50 {
					_, err := db.Checkin(ctx, wbCheckin(c.ID, fmt.Sprintf("i%d", (g+n)%8), "h", time.Duration(n+1)*time.Second))
					if err != nil {
						errs[g] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for g, err := range errs {
			if err != nil {
				t.Fatalf("goroutine %d: %v", g, err)
			}
		}
		got, err := db.GetContract(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SeatsUsed != 8 {
			t.Errorf("seats used: got %d, want 8", got.SeatsUsed)
		}
		list, err := db.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID, SeatHolders: true})
		if err != nil || len(list) != 8 {
			t.Fatalf("seat holders: got %d, %v, want 8", len(list), err)
		}
	})
}

func mustCheckin(t *testing.T, db *DB, ctx context.Context, c licensor.Checkin) *licensor.Instance {
	t.Helper()
	inst, err := db.Checkin(ctx, c)
	if err != nil {
		t.Fatalf("Checkin %s at %v: got error %v, want none", c.InstanceID, c.Now, err)
	}
	return inst
}
