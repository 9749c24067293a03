package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
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
