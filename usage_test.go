package licensor_test

import (
	"math"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func TestBuildUsageReport(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ev := func(m int, kind licensor.UsageKind, units, inUse int64) *licensor.UsageEvent {
		return &licensor.UsageEvent{Feature: "solver", Kind: kind, Units: units, InUse: inUse, At: at(m)}
	}
	events := []*licensor.UsageEvent{
		ev(-30, licensor.UsageGrant, 2, 2), // before since: 2 in use at since
		ev(30, licensor.UsageGrant, 4, 6),
		ev(45, licensor.UsageDeny, 9, 6),
		ev(90, licensor.UsageReturn, 4, 2),
		ev(150, licensor.UsageExpire, 2, 0),
	}
	rows := licensor.BuildUsageReport("pool_1", []string{"gpu", "solver"}, events, t0, at(180), time.Hour)
	if len(rows) != 6 {
		t.Fatalf("rows: got %d, want 6 (2 features × 3 hours)", len(rows))
	}
	want := []struct {
		peak                             int64
		unitHours                        float64
		grants, denials, returns, expire int64
	}{
		{6, 2*0.5 + 6*0.5, 1, 1, 0, 0},
		{6, 6*0.5 + 2*0.5, 0, 0, 1, 0},
		{2, 2 * 0.5, 0, 0, 0, 1},
	}
	for i, w := range want {
		r := rows[3+i]
		if r.Feature != "solver" || !r.PeriodStart.Equal(at(60*i)) {
			t.Errorf("row %d: got %s at %v, want solver at %v", i, r.Feature, r.PeriodStart, at(60*i))
		}
		if r.PeakUnits != w.peak || math.Abs(r.UnitHours-w.unitHours) > 1e-9 || r.Grants != w.grants || r.Denials != w.denials || r.Returns != w.returns || r.Expiries != w.expire {
			t.Errorf("hour %d: got %+v, want %+v", i, r, w)
		}
		if g := rows[i]; g.Feature != "gpu" || g.PeakUnits != 0 || g.UnitHours != 0 {
			t.Errorf("gpu hour %d: got %+v, want a quiet row", i, g)
		}
	}
}
