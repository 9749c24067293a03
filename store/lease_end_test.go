package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// fakeLeases is one tenant's leases of one pool in memory; it records the
// statements the lease's life runs, and what each frees.
type fakeLeases struct {
	leases   map[string]*licensor.Lease
	inUse    map[string]int64
	failFree string // the lease whose free fails
	log      []string
	events   []leaseEvent
}

var leaseT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newFakeLeases holds lea_1 (gpu=2, solver=3) and lea_2 (solver=1) of
// contract ctr_1's instance a, ending at leaseT0+10m and leaseT0+20m.
func newFakeLeases() *fakeLeases {
	l := func(id string, end time.Duration, us ...licensor.Units) *licensor.Lease {
		return &licensor.Lease{ID: id, PoolID: "pool_1", ContractID: "ctr_1", InstanceID: "a", Units: us, ExpiresAt: leaseT0.Add(end)}
	}
	return &fakeLeases{
		leases: map[string]*licensor.Lease{
			"lea_1": l("lea_1", 10*time.Minute, licensor.Units{Feature: "gpu", Units: 2}, licensor.Units{Feature: "solver", Units: 3}),
			"lea_2": l("lea_2", 20*time.Minute, licensor.Units{Feature: "solver", Units: 1}),
		},
		inUse: map[string]int64{"gpu": 2, "solver": 4},
	}
}

func (f *fakeLeases) logf(format string, args ...any) {
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fakeLeases) GetLease(_ context.Context, id string) (*licensor.Lease, error) {
	f.logf("get %s", id)
	l, ok := f.leases[id]
	if !ok {
		return nil, licensor.Errorf(licensor.ENOTFOUND, "lease %s not found", id)
	}
	c := *l
	c.Units = slices.Clone(l.Units)
	return &c, nil
}

func (f *fakeLeases) delete(id string, ok func(*licensor.Lease) bool) (leaseRow, bool, error) {
	l, found := f.leases[id]
	if !found || !ok(l) {
		f.log[len(f.log)-1] += ": none"
		return leaseRow{}, false, nil
	}
	delete(f.leases, id)
	return leaseRow{Pool: l.PoolID, Contract: l.ContractID, Instance: l.InstanceID, Units: formatUnits(l.Units)}, true, nil
}

func (f *fakeLeases) DeleteLive(_ context.Context, id, contractID, instanceID string, now int64) (leaseRow, bool, error) {
	f.logf("delete live %s", id)
	return f.delete(id, func(l *licensor.Lease) bool {
		return l.ContractID == contractID && l.InstanceID == instanceID && Micros(l.ExpiresAt) > now
	})
}

func (f *fakeLeases) DeleteLease(_ context.Context, id string) (leaseRow, bool, error) {
	f.logf("delete %s", id)
	return f.delete(id, func(*licensor.Lease) bool { return true })
}

func (f *fakeLeases) DeleteExpired(_ context.Context, id string, now int64) (leaseRow, bool, error) {
	f.logf("delete expired %s", id)
	return f.delete(id, func(l *licensor.Lease) bool { return Micros(l.ExpiresAt) <= now })
}

func (f *fakeLeases) Free(_ context.Context, evs []leaseEvent) error {
	var s []string
	for _, e := range evs {
		if e.Lease == f.failFree {
			return errors.New("free failed")
		}
		f.inUse[e.Feature] -= e.Units
		f.events = append(f.events, e)
		s = append(s, fmt.Sprintf("%s %s=%d of %s (%s %s/%s)", e.Kind, e.Feature, e.Units, e.Pool, e.Lease, e.Contract, e.Instance))
	}
	f.logf("free [%s]", strings.Join(s, ", "))
	return nil
}

func (f *fakeLeases) Shrink(ctx context.Context, id, units string, evs []leaseEvent) error {
	f.logf("shrink %s to %s", id, units)
	us, err := parseUnits(units)
	if err != nil {
		return err
	}
	f.leases[id].Units = us
	return f.Free(ctx, evs)
}

var _ lifeTx = (*fakeLeases)(nil)

// state is what is left: the leases and the units in use.
func (f *fakeLeases) state() string {
	var s []string
	for _, id := range []string{"lea_1", "lea_2"} {
		if l, ok := f.leases[id]; ok {
			s = append(s, fmt.Sprintf("%s=%s", id, formatUnits(l.Units)))
		}
	}
	return fmt.Sprintf("%s gpu=%d solver=%d", strings.Join(s, " "), f.inUse["gpu"], f.inUse["solver"])
}

// checkAt checks that every event is stamped with the call's time.
func (f *fakeLeases) checkAt(t *testing.T, now int64) {
	t.Helper()
	for _, e := range f.events {
		if e.At != now {
			t.Errorf("event %v: got At %d, want %d", e, e.At, now)
		}
	}
}

func TestReturnLease(t *testing.T) {
	const (
		live = 5 * time.Minute  // lea_1 is live
		late = 15 * time.Minute // lea_1 has expired
	)
	solver := func(n int64) licensor.Units { return licensor.Units{Feature: "solver", Units: n} }
	gpu := func(n int64) licensor.Units { return licensor.Units{Feature: "gpu", Units: n} }
	for _, tc := range []struct {
		name     string
		instance string
		lease    string
		units    []licensor.Units
		at       time.Duration
		want     string // the statements; what is left
		left     string // the lease returned
		code     string // of the error for the transaction
		expired  string // the error for the caller after commit
	}{
		{name: "Whole", at: live,
			want: "delete live lea_1; free [return gpu=2 of pool_1 (lea_1 ctr_1/a), return solver=3 of pool_1 (lea_1 ctr_1/a)]; lea_2={\"solver\":1} gpu=0 solver=1"},
		{name: "Some", units: []licensor.Units{solver(1)}, at: live,
			want: "get lea_1; shrink lea_1 to {\"gpu\":2,\"solver\":2}; free [return solver=1 of pool_1 (lea_1 ctr_1/a)]; lea_1={\"gpu\":2,\"solver\":2} lea_2={\"solver\":1} gpu=2 solver=3",
			left: "lea_1 [{gpu 2} {solver 2}]"},
		{name: "SomeInOrderAsked", units: []licensor.Units{solver(3), gpu(1)}, at: live,
			want: "get lea_1; shrink lea_1 to {\"gpu\":1}; free [return solver=3 of pool_1 (lea_1 ctr_1/a), return gpu=1 of pool_1 (lea_1 ctr_1/a)]; lea_1={\"gpu\":1} lea_2={\"solver\":1} gpu=1 solver=1",
			left: "lea_1 [{gpu 1}]"},
		{name: "AllByName", units: []licensor.Units{solver(3), gpu(2)}, at: live,
			want: "get lea_1; delete lea_1; free [return gpu=2 of pool_1 (lea_1 ctr_1/a), return solver=3 of pool_1 (lea_1 ctr_1/a)]; lea_2={\"solver\":1} gpu=0 solver=1"},
		{name: "WholeExpired", at: late,
			want:    "delete live lea_1: none; get lea_1; delete expired lea_1; free [expire gpu=2 of pool_1 (lea_1 ctr_1/a), expire solver=3 of pool_1 (lea_1 ctr_1/a)]; lea_2={\"solver\":1} gpu=0 solver=1",
			expired: "lease lea_1 expired at 2026-03-01T12:10:00Z; its units are already back in the pool"},
		{name: "SomeExpired", units: []licensor.Units{solver(1)}, at: late,
			want:    "get lea_1; delete expired lea_1; free [expire gpu=2 of pool_1 (lea_1 ctr_1/a), expire solver=3 of pool_1 (lea_1 ctr_1/a)]; lea_2={\"solver\":1} gpu=0 solver=1",
			expired: "lease lea_1 expired at 2026-03-01T12:10:00Z; its units are already back in the pool"},
		{name: "ErrOtherInstance", instance: "b", at: live,
			want: "delete live lea_1: none; get lea_1; lea_1={\"gpu\":2,\"solver\":3} lea_2={\"solver\":1} gpu=2 solver=4", code: licensor.ENOTFOUND},
		{name: "ErrOtherInstanceExpired", instance: "b", units: []licensor.Units{solver(1)}, at: late,
			want: "get lea_1; lea_1={\"gpu\":2,\"solver\":3} lea_2={\"solver\":1} gpu=2 solver=4", code: licensor.ENOTFOUND},
		{name: "ErrNoSuchLease", lease: "lea_9", at: live,
			want: "delete live lea_9: none; get lea_9; lea_1={\"gpu\":2,\"solver\":3} lea_2={\"solver\":1} gpu=2 solver=4", code: licensor.ENOTFOUND},
		{name: "ErrTooMany", units: []licensor.Units{solver(4)}, at: live,
			want: "get lea_1; lea_1={\"gpu\":2,\"solver\":3} lea_2={\"solver\":1} gpu=2 solver=4", code: licensor.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLeases()
			now := Micros(leaseT0.Add(tc.at))
			r := licensor.LeaseReturn{LeaseID: cmp.Or(tc.lease, "lea_1"), ContractID: "ctr_1", InstanceID: cmp.Or(tc.instance, "a"), Units: tc.units}
			left, expired, err := returnLease(context.Background(), f, r, now)
			if code := licensor.ErrorCode(err); code != tc.code {
				t.Fatalf("error: got %v (code %q), want code %q", err, code, tc.code)
			}
			if got := strings.Join(f.log, "; ") + "; " + f.state(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			gotLeft := ""
			if left != nil {
				gotLeft = fmt.Sprintf("%s %v", left.ID, left.Units)
			}
			if gotLeft != tc.left {
				t.Errorf("lease left: got %q, want %q", gotLeft, tc.left)
			}
			gotExpired := ""
			if expired != nil {
				gotExpired = licensor.ErrorMessage(expired)
				if code := licensor.ErrorCode(expired); code != licensor.EPRECONDITION {
					t.Errorf("expired: got code %q, want %q", code, licensor.EPRECONDITION)
				}
			}
			if gotExpired != tc.expired {
				t.Errorf("expired: got %q, want %q", gotExpired, tc.expired)
			}
			f.checkAt(t, now)
		})
	}
}

func TestNotRenewed(t *testing.T) {
	now := Micros(leaseT0.Add(15 * time.Minute))
	t.Run("Expired", func(t *testing.T) {
		f := newFakeLeases()
		expired, err := notRenewed(context.Background(), f, licensor.LeaseRenewal{LeaseID: "lea_1", ContractID: "ctr_1", InstanceID: "a"}, now)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		want := "get lea_1; delete expired lea_1; free [expire gpu=2 of pool_1 (lea_1 ctr_1/a), expire solver=3 of pool_1 (lea_1 ctr_1/a)]; lea_2={\"solver\":1} gpu=0 solver=1"
		if got := strings.Join(f.log, "; ") + "; " + f.state(); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if msg, code := licensor.ErrorMessage(expired), licensor.ErrorCode(expired); code != licensor.EPRECONDITION ||
			msg != "lease lea_1 expired at 2026-03-01T12:10:00Z; request the capabilities again" {
			t.Errorf("expired: got %q (code %q), want EPRECONDITION", msg, code)
		}
		f.checkAt(t, now)
	})
	t.Run("ErrOtherInstance", func(t *testing.T) {
		f := newFakeLeases()
		expired, err := notRenewed(context.Background(), f, licensor.LeaseRenewal{LeaseID: "lea_1", ContractID: "ctr_1", InstanceID: "b"}, now)
		if licensor.ErrorCode(err) != licensor.ENOTFOUND || expired != nil {
			t.Fatalf("got %v, %v; want ENOTFOUND and no expiry", expired, err)
		}
		if got, want := strings.Join(f.log, "; "), "get lea_1"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestReleaseLease(t *testing.T) {
	now := Micros(leaseT0)
	f := newFakeLeases()
	if err := releaseLease(context.Background(), f, "lea_1", now); err != nil {
		t.Fatalf("Release: got error %v, want none", err)
	}
	err := releaseLease(context.Background(), f, "lea_1", now)
	if licensor.ErrorCode(err) != licensor.ENOTFOUND || licensor.ErrorMessage(err) != "lease lea_1 not found" {
		t.Errorf("Release again: got %v, want ENOTFOUND", err)
	}
	want := "delete lea_1; free [release gpu=2 of pool_1 (lea_1 ctr_1/a), release solver=3 of pool_1 (lea_1 ctr_1/a)]; delete lea_1: none; lea_2={\"solver\":1} gpu=0 solver=1"
	if got := strings.Join(f.log, "; ") + "; " + f.state(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f.checkAt(t, now)
}

func TestExpireLeases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		at       time.Duration
		failFree string
		n        int
		err      bool
		want     string
	}{
		{name: "OnlyExpired", at: 15 * time.Minute, n: 1,
			want: "delete expired lea_1; free [expire gpu=2 of pool_1 (lea_1 ctr_1/a), expire solver=3 of pool_1 (lea_1 ctr_1/a)]; delete expired lea_9: none; delete expired lea_2: none; lea_2={\"solver\":1} gpu=0 solver=1"},
		{name: "All", at: 20 * time.Minute, n: 2,
			want: "delete expired lea_1; free [expire gpu=2 of pool_1 (lea_1 ctr_1/a), expire solver=3 of pool_1 (lea_1 ctr_1/a)]; delete expired lea_9: none; delete expired lea_2; free [expire solver=1 of pool_1 (lea_2 ctr_1/a)];  gpu=0 solver=0"},
		{name: "ErrCountsWhatWasFreed", at: 20 * time.Minute, failFree: "lea_2", n: 1, err: true,
			want: "delete expired lea_1; free [expire gpu=2 of pool_1 (lea_1 ctr_1/a), expire solver=3 of pool_1 (lea_1 ctr_1/a)]; delete expired lea_9: none; delete expired lea_2;  gpu=0 solver=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLeases()
			f.failFree = tc.failFree
			now := Micros(leaseT0.Add(tc.at))
			n, err := expireLeases(context.Background(), f, []string{"lea_1", "lea_9", "lea_2"}, now)
			if n != tc.n || (err != nil) != tc.err {
				t.Errorf("got %d, %v; want %d, error %t", n, err, tc.n, tc.err)
			}
			if got := strings.Join(f.log, "; ") + "; " + f.state(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			f.checkAt(t, now)
		})
	}
}
