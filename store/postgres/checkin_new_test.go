package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
)

// TestCheckinNew: a new instance's first check-in takes its seat (or
// non-production slot) and inserts the instance in one batch, leaving what
// the general path leaves; every case the batch cannot decide alone writes
// nothing and is left to the general path (done false).
func TestCheckinNew(t *testing.T) {
	db := pgtest.Open(t)
	ctx, contract := seedContract(t, db, 1)
	other, otherContract := seedContract(t, db, 5)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	in := func(id string, seat bool) licensor.Checkin {
		return licensor.Checkin{ContractID: contract, InstanceID: id, TakesSeat: seat, Environment: "production",
			Host: "node-" + id, RemoteAddr: "10.0.0.1", Now: now, LicenseID: "lic_" + id,
			LicenseExpiresAt: now.Add(14 * 24 * time.Hour), Fingerprint: "fp-" + id}
	}
	for _, c := range []struct {
		name          string
		ctx           context.Context
		in            licensor.Checkin
		wantDone      bool
		seats, slots  int  // the contract's after
		wantInstance  bool // the instance exists after
		instanceSeat  bool // and holds a seat (else a slot)
		instanceOwner context.Context
	}{
		{"Seat", ctx, in("a", true), true, 1, 0, true, true, ctx},
		{"Again", ctx, in("a", true), false, 1, 0, true, true, ctx},
		{"NoSeatLeft", ctx, in("b", true), false, 1, 0, false, false, ctx},
		{"NonProduction", ctx, in("c", false), true, 1, 1, true, false, ctx},
		{"OtherTenantsContract", other, in("d", true), false, 1, 1, false, false, ctx},
	} {
		inst, done, err := db.CheckinNew(c.ctx, c.in)
		if err != nil || done != c.wantDone {
			t.Errorf("%s: got done %v, error %v; want done %v, no error", c.name, done, err, c.wantDone)
		}
		k, err := db.GetContract(ctx, contract)
		if err != nil {
			t.Fatal(err)
		}
		if k.SeatsUsed != c.seats || k.NonProductionURLsUsed != c.slots {
			t.Errorf("%s: contract holds %d seats, %d slots; want %d, %d", c.name, k.SeatsUsed, k.NonProductionURLsUsed, c.seats, c.slots)
		}
		got, err := db.GetInstance(c.instanceOwner, contract, c.in.InstanceID)
		if (err == nil) != c.wantInstance {
			t.Errorf("%s: GetInstance: %v; want the instance: %v", c.name, err, c.wantInstance)
		}
		if err != nil {
			continue
		}
		if got.Seat != c.instanceSeat || got.NonProductionSlot == c.instanceSeat {
			t.Errorf("%s: instance holds seat %v, slot %v; want seat %v", c.name, got.Seat, got.NonProductionSlot, c.instanceSeat)
		}
		if !done {
			continue
		}
		// The answer is the row as stored.
		if *inst != *got {
			t.Errorf("%s: answered %+v, stored %+v", c.name, *inst, *got)
		}
		if got.Host != c.in.Host || got.LicenseID != c.in.LicenseID || got.Fingerprint != c.in.Fingerprint ||
			!got.FirstSeenAt.Equal(now) || !got.LastSeenAt.Equal(now) || !got.LicenseExpiresAt.Equal(c.in.LicenseExpiresAt) {
			t.Errorf("%s: stored %+v, want the check-in's host, license, fingerprint and times", c.name, *got)
		}
	}
	if k, err := db.GetContract(other, otherContract); err != nil || k.SeatsUsed != 0 {
		t.Errorf("the other tenant's contract: %+v, %v; want no seat taken", k, err)
	}
	// Through the store, the cases left to the general path answer as it
	// does: a refresh of the instance that exists, EEXHAUSTED for the new
	// one.
	if _, err := db.Checkin(ctx, in("a", true)); err != nil {
		t.Errorf("Checkin of the existing instance: %v", err)
	}
	if _, err := db.Checkin(ctx, in("b", true)); licensor.ErrorCode(err) != licensor.EEXHAUSTED {
		t.Errorf("Checkin with no seat left: got %v, want code %q", err, licensor.EEXHAUSTED)
	}
}

// TestCheckinNewGroups: new instances of one contract that arrive while
// one of its transactions runs go out together, each decided as it would
// be alone: seats until none is left, the rest to the general path
// (EEXHAUSTED); an instance that exists by then fails the group, whose
// check-ins then run one by one.
func TestCheckinNewGroups(t *testing.T) {
	db := pgtest.Open(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	// run checks ids in at once on a new contract of seats, the first
	// held as the contract's group and the rest queued behind it.
	// split is the sizes of the groups that wrote nothing as a whole.
	run := func(t *testing.T, seats int, ids ...string) (ctx context.Context, contract string, errs []error, split []int) {
		t.Helper()
		var mu sync.Mutex
		db.SetGroupSplitHook(func(n int) {
			mu.Lock()
			split = append(split, n)
			mu.Unlock()
		})
		defer db.SetGroupSplitHook(nil)
		ctx, contract = seedContract(t, db, seats)
		calls := make([]func() error, len(ids))
		for i, id := range ids {
			calls[i] = func() error {
				_, err := db.Checkin(ctx, licensor.Checkin{ContractID: contract, InstanceID: id, TakesSeat: true,
					Now: now, LicenseID: "lic_" + id, LicenseExpiresAt: now.Add(time.Hour)})
				return err
			}
		}
		errs = runHeld(t, db, calls...)
		mu.Lock()
		defer mu.Unlock()
		return ctx, contract, errs, split
	}
	seatsUsed := func(t *testing.T, ctx context.Context, contract string) int {
		t.Helper()
		c, err := db.GetContract(ctx, contract)
		if err != nil {
			t.Fatal(err)
		}
		return c.SeatsUsed
	}

	t.Run("UntilNoSeatLeft", func(t *testing.T) {
		ctx, contract, errs, split := run(t, 4, "a", "b", "c", "d", "e", "f")
		if split != nil {
			t.Errorf("groups that wrote nothing: %v, want none (the group of 5 commits 3 and leaves 2)", split)
		}
		ok, exhausted := 0, 0
		for i, err := range errs {
			switch licensor.ErrorCode(err) {
			case "":
				ok++
			case licensor.EEXHAUSTED:
				exhausted++
			default:
				t.Errorf("check-in %d: %v", i, err)
			}
		}
		if used := seatsUsed(t, ctx, contract); ok != 4 || exhausted != 2 || used != 4 {
			t.Errorf("got %d licensed, %d exhausted, %d seats used; want 4, 2, 4", ok, exhausted, used)
		}
	})
	t.Run("InstanceExistsByThen", func(t *testing.T) {
		// The second "a" queued before the first was inserted: its
		// statement sees the instance and writes nothing, without
		// failing the group; the general path then refreshes it.
		ctx, contract, errs, split := run(t, 10, "a", "b", "c", "a")
		if len(split) != 0 {
			t.Errorf("groups that wrote nothing: %v, want none", split)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("check-in %d: %v", i, err)
			}
		}
		if n := seatsUsed(t, ctx, contract); n != 3 {
			t.Errorf("seats used: got %d, want 3 (a, b, c)", n)
		}
	})
}

// TestCheckinNewConcurrent: many new instances of one contract through two
// stores at once take exactly its seats, and every other gets EEXHAUSTED.
func TestCheckinNewConcurrent(t *testing.T) {
	url, schema := pgtest.Schema(t)
	stores := []*postgres.DB{pgtest.OpenSchema(t, url, schema), pgtest.OpenSchema(t, url, schema)}
	ctx, contract := seedContract(t, stores[0], 5)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	errs := make([]error, 24)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = stores[i%2].Checkin(ctx, licensor.Checkin{ContractID: contract, InstanceID: fmt.Sprintf("n-%d", i),
				TakesSeat: true, Now: now, LicenseID: "lic", LicenseExpiresAt: now.Add(time.Hour)})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch licensor.ErrorCode(err) {
		case "":
			ok++
		case licensor.EEXHAUSTED:
		default:
			t.Errorf("check-in %d: %v", i, err)
		}
	}
	c, err := stores[1].GetContract(ctx, contract)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 5 || c.SeatsUsed != 5 {
		t.Errorf("got %d licensed, %d seats used; want 5 and 5", ok, c.SeatsUsed)
	}
}
