package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
)

// TestCombinedRefreshMatchesSingle: a refresh combined with others leaves
// exactly the row, and gives exactly the answer, of the single-row refresh
// every engine shares. Two instances start identical; each case refreshes
// one through each path and compares the whole rows, so a column the
// shared statement sets and the combined one does not fails here.
func TestCombinedRefreshMatchesSingle(t *testing.T) {
	db := pgtest.Open(t)
	ctx, contractID := seedContract(t, db, 100)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base := licensor.Checkin{ContractID: contractID, TakesSeat: true, Host: "h1", Fingerprint: "fp1", Environment: "production",
		RemoteAddr: "10.0.0.1", Now: t0, LicenseID: "lic_0", LicenseExpiresAt: t0.Add(time.Hour)}
	for _, tc := range []struct {
		name    string
		release bool // release the seats before the refresh
		change  func(c *licensor.Checkin)
		want    bool
	}{
		{"same host", false, func(c *licensor.Checkin) {}, true},
		{"other host within the clone window", false, func(c *licensor.Checkin) { c.Host, c.CloneWindow = "h2", time.Hour }, true},
		{"other host after the clone window", false, func(c *licensor.Checkin) { c.Host, c.CloneWindow, c.Now = "h2", time.Minute, t0.Add(2*time.Hour) }, true},
		{"other fingerprint within the window", false, func(c *licensor.Checkin) { c.Fingerprint, c.CloneWindow = "fp2", time.Hour }, true},
		{"no fingerprint keeps the stored one", false, func(c *licensor.Checkin) { c.Fingerprint = "" }, true},
		{"everything else new", false, func(c *licensor.Checkin) {
			c.Environment, c.RemoteAddr, c.LicenseID, c.LicenseExpiresAt = "staging", "10.0.0.9", "lic_9", t0.Add(48*time.Hour)
		}, true},
		{"released seat needs its transaction", true, func(c *licensor.Checkin) {}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := "a-"+licensor.NewID("x"), "b-"+licensor.NewID("x")
			for _, id := range []string{a, b} {
				first := base
				first.InstanceID = id
				if _, err := db.Checkin(ctx, first); err != nil {
					t.Fatal(err)
				}
				if tc.release {
					must(t, db.ReleaseSeat(ctx, contractID, id))
				}
			}
			in := base
			in.Now = t0.Add(time.Minute)
			in.LicenseID = "lic_1"
			tc.change(&in)
			okA, okB, err := db.RefreshBoth(ctx, in, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if okA != tc.want || okB != tc.want {
				t.Fatalf("answered: single %v, combined %v; want %v", okA, okB, tc.want)
			}
			row := func(id string) string {
				var s string
				err := db.Pool().QueryRow(ctx, `SELECT (to_jsonb(i) - 'instance_id')::text FROM instances i
					WHERE instance_id = $1`, id).Scan(&s)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			if ra, rb := row(a), row(b); ra != rb {
				t.Errorf("rows differ:\nsingle   %s\ncombined %s", ra, rb)
			}
		})
	}
}

// TestCombinedRefreshesConcurrent: many callers refreshing a few
// instances at once, each several times (so batches hold and skip
// duplicates), all get their own instance back, and each instance ends
// with its last refresh's values.
func TestCombinedRefreshesConcurrent(t *testing.T) {
	db := pgtest.Open(t)
	ctx, contractID := seedContract(t, db, 100)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const instances, callers, rounds = 8, 64, 20
	for i := range instances {
		_, err := db.Checkin(ctx, licensor.Checkin{ContractID: contractID, InstanceID: fmt.Sprint("node-", i), TakesSeat: true, Now: t0,
			LicenseID: "lic_0", LicenseExpiresAt: t0.Add(time.Hour)})
		must(t, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for g := range callers {
		wg.Go(func() {
			id := fmt.Sprint("node-", g%instances)
			for r := range rounds {
				lic := fmt.Sprintf("lic_%d_%d", g, r)
				inst, err := db.Checkin(ctx, licensor.Checkin{ContractID: contractID, InstanceID: id, TakesSeat: true,
					Now: t0.Add(time.Duration(r+1) * time.Second), LicenseID: lic, LicenseExpiresAt: t0.Add(time.Hour)})
				if err != nil {
					errs <- err
					return
				}
				if inst.ID != id || inst.LicenseID != lic || !inst.Seat {
					errs <- fmt.Errorf("caller %d round %d: got instance %s license %s seat %v, want %s %s true", g, r, inst.ID, inst.LicenseID, inst.Seat, id, lic)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := db.GetContract(ctx, contractID)
	must(t, err)
	if c.SeatsUsed != instances {
		t.Errorf("seats used: got %d, want %d", c.SeatsUsed, instances)
	}
}

// TestCombinedRefreshPlan: the combined refresh looks each row up by an
// index on its ids, also in the generic plan PostgreSQL may switch a prepared
// statement to (it does not know the arrays' lengths then).
func TestCombinedRefreshPlan(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	ten, seed := planSeed(t, db)
	types := "int[], bigint[], text[], bigint[], text[], text[], text[], bigint[], text[], text[], text[], boolean[], text[], bigint[], bigint[]"
	setup := append(seed, "SET plan_cache_mode = force_generic_plan", "PREPARE refresh_batch("+types+") AS "+postgres.RefreshBatchQuery)
	arr := func(v string) string { return "'{\"" + v + "\",\"" + v + "\"}'" }
	args := []string{"'{0,1}'", arr("0"), arr("h"), arr("1"), arr("production"), arr(""), arr("lic"), arr("1"),
		arr(ten.ID), arr("con_1"), "'{inst-100,inst-200}'", arr("true"), arr(""), arr("0"), arr("0")}
	lines, err := db.Plan(ctx, setup, "EXECUTE refresh_batch("+strings.Join(args, ", ")+")")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	byKey := strings.Contains(all, "Nested Loop") &&
		(strings.Contains(all, "using instances_pkey on instances") || strings.Contains(all, "using instances_id on instances"))
	if !byKey || strings.Contains(all, "Seq Scan on instances") {
		t.Errorf("plan: want each row looked up by instances_pkey or instances_id, got\n%s", all)
	}
}
