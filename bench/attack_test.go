package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/bench"
)

// An attack run measures the load alone and beside the attackers, and the
// attackers did dial: the server (httptest, guard in front) answers the
// slow bodies at once without a token.
func TestAttackRun(t *testing.T) {
	cfg := small(t, bench.ScenarioAttack)
	cfg.Rate, cfg.Duration = 40, time.Second
	cfg.AttackSlow, cfg.AttackIdle, cfg.AttackInterval, cfg.AttackAddrs = 3, 3, 50*time.Millisecond, 2
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Attack
	if a == nil || a.Baseline == nil {
		t.Fatalf("attack result: got %+v, want one with a baseline", a)
	}
	if a.Baseline.Successes == 0 || res.Successes == 0 {
		t.Errorf("successes: got %d without and %d with the attack, want both > 0", a.Baseline.Successes, res.Successes)
	}
	if a.Dials < int64(cfg.AttackSlow+cfg.AttackIdle) {
		t.Errorf("dials: got %d, want at least one per attacker (%d)", a.Dials, cfg.AttackSlow+cfg.AttackIdle)
	}
	if a.Closed == 0 {
		t.Error("closed by the server: got 0, want the slow bodies answered and closed")
	}
}
