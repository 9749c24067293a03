package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// fakePool is a pool in memory that records the statements Take runs.
type fakePool struct {
	max, inUse map[string]int64
	expired    map[string]int64 // units held by expired leases, freed by ExpirePool
	saved      []map[string]int64
	log        []string
}

func (p *fakePool) logf(format string, args ...any) {
	p.log = append(p.log, fmt.Sprintf(format, args...))
}

func (p *fakePool) Savepoint(context.Context) error {
	p.logf("savepoint")
	p.saved = append(p.saved, clone(p.inUse))
	return nil
}

func (p *fakePool) RollbackTo(context.Context) error {
	p.logf("rollback")
	p.inUse = clone(p.saved[len(p.saved)-1])
	return nil
}

func (p *fakePool) Release(context.Context) error {
	p.logf("release")
	p.saved = p.saved[:len(p.saved)-1]
	return nil
}

func (p *fakePool) TakeUnits(_ context.Context, f string, n int64) (int64, int64, bool, error) {
	p.logf("take %s=%d", f, n)
	m, ok := p.max[f]
	if !ok || p.inUse[f]+n > m {
		return 0, 0, false, nil
	}
	p.inUse[f] += n
	return p.inUse[f], 0, true, nil
}

func (p *fakePool) Level(_ context.Context, f string) (int64, int64, bool, error) {
	p.logf("level %s", f)
	m, ok := p.max[f]
	return m, p.inUse[f], ok, nil
}

func (p *fakePool) Missing(_ context.Context, f string) error {
	p.logf("missing %s", f)
	return licensor.Errorf(licensor.EINVALID, "feature %q is not in the pool", f)
}

func (p *fakePool) NextRelease(_ context.Context, f string) (time.Time, error) {
	p.logf("next %s", f)
	return time.Time{}, nil
}

func (p *fakePool) ExpirePool(context.Context) error {
	p.logf("expire")
	for f, n := range p.expired {
		p.inUse[f] -= n
	}
	clear(p.expired)
	return nil
}

func clone(m map[string]int64) map[string]int64 {
	c := make(map[string]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestTakeCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inUse   map[string]int64
		expired map[string]int64
		take    licensor.Take
		want    string // granted; the statements; in use after
	}{
		{"OneFeatureNoSavepoint", nil, nil,
			licensor.Take{Units: []licensor.Units{{Feature: "solver", Units: 3}}},
			"true; take solver=3; gpu=0 solver=3"},
		{"ShortNothingExpired", map[string]int64{"solver": 9}, nil,
			licensor.Take{Units: []licensor.Units{{Feature: "solver", Units: 3}}},
			"false; take solver=3, level solver, expire, take solver=3, level solver, next solver; gpu=0 solver=9"},
		{"ExpiredUnitsGranted", map[string]int64{"solver": 10}, map[string]int64{"solver": 10},
			licensor.Take{Units: []licensor.Units{{Feature: "gpu", Units: 1}, {Feature: "solver", Units: 10}}},
			"true; savepoint, take gpu=1, take solver=10, level solver, rollback, release, expire, savepoint, take gpu=1, take solver=10, release; gpu=1 solver=10"},
		{"AllOrNothing", map[string]int64{"solver": 8}, nil,
			licensor.Take{Units: []licensor.Units{{Feature: "gpu", Units: 1}, {Feature: "solver", Units: 3}}},
			"false; savepoint, take gpu=1, take solver=3, level solver, rollback, release, expire, savepoint, take gpu=1, take solver=3, level solver, next solver, rollback, release; gpu=0 solver=8"},
		{"Partial", map[string]int64{"solver": 8}, nil,
			licensor.Take{Units: []licensor.Units{{Feature: "solver", Units: 3}}, AllowPartial: true},
			"true; take solver=3, level solver, expire, take solver=3, level solver, next solver, take solver=2; gpu=0 solver=10"},
		{"Preview", nil, nil,
			licensor.Take{Units: []licensor.Units{{Feature: "solver", Units: 3}}, Preview: true},
			"true; savepoint, take solver=3, rollback, release; gpu=0 solver=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakePool{max: map[string]int64{"gpu": 2, "solver": 10}, inUse: clone(tc.inUse), expired: clone(tc.expired)}
			tk, err := takeCapabilities(context.Background(), p, tc.take)
			if err != nil {
				t.Fatalf("Take: got error %v, want none", err)
			}
			got := fmt.Sprintf("%t; %s; gpu=%d solver=%d", tk.Result.Granted, strings.Join(p.log, ", "), p.inUse["gpu"], p.inUse["solver"])
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("UnknownFeature", func(t *testing.T) {
		p := &fakePool{max: map[string]int64{"solver": 10}, inUse: map[string]int64{}}
		_, err := takeCapabilities(context.Background(), p, licensor.Take{Units: []licensor.Units{{Feature: "cad", Units: 1}}})
		if licensor.ErrorCode(err) != licensor.EINVALID {
			t.Errorf("got error %v, want EINVALID", err)
		}
	})
}

// A stored answer is replayed only to the same request; a request id
// reused for another request is a conflict, and a broken row an internal
// error, never a grant.
func TestReplayRequest(t *testing.T) {
	take := licensor.Take{RequestID: "r-1", Fingerprint: "fp-a"}
	for _, tc := range []struct {
		name        string
		fingerprint string
		answer      string
		code        string
		granted     bool
	}{
		{"SameRequest", "fp-a", `{"Granted":true}`, "", true},
		{"OtherRequest", "fp-b", `{"Granted":true}`, licensor.ECONFLICT, false},
		{"BrokenAnswer", "fp-a", `{"Granted":`, licensor.EINTERNAL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := replay(take, tc.fingerprint, []byte(tc.answer))
			if got := licensor.ErrorCode(err); got != tc.code {
				t.Fatalf("code: got %q (%v), want %q", got, err, tc.code)
			}
			if err != nil {
				return
			}
			if !res.Replayed || res.Granted != tc.granted {
				t.Errorf("got Replayed %v Granted %v, want true and %v", res.Replayed, res.Granted, tc.granted)
			}
		})
	}
}
