package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
)

// threeServers opens three stores on one schema, as three servers would.
func threeServers(t *testing.T) []*postgres.DB {
	url, schema := pgtest.Schema(t)
	return []*postgres.DB{pgtest.OpenSchema(t, url, schema), pgtest.OpenSchema(t, url, schema), pgtest.OpenSchema(t, url, schema)}
}

// race runs n calls of f spread over the servers, all released at once.
func race(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

func TestScannerLockOneHolderAcrossServers(t *testing.T) {
	// The alert scanner of every server asks for the lock at the same
	// moment, round after round: exactly one holds it each round.
	dbs := threeServers(t)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 10 {
		now := t0.Add(time.Duration(round) * time.Hour) // the previous holder's lock has lapsed
		var holders atomic.Int32
		race(30, func(i int) {
			ok, err := dbs[i%3].AcquireJobLock(context.Background(), "alert-scan", fmt.Sprintf("server-%d", i), now, now.Add(time.Minute))
			if err != nil {
				t.Errorf("AcquireJobLock: got error %v, want none", err)
			}
			if ok {
				holders.Add(1)
			}
		})
		if got := holders.Load(); got != 1 {
			t.Errorf("round %d: got %d holders, want 1", round, got)
		}
	}
}

func TestRaiseAlertOnceAcrossServers(t *testing.T) {
	// Scanners on three servers find the same condition at once: one
	// episode, one delivery per webhook.
	dbs := threeServers(t)
	ctx, _ := seedContract(t, dbs[0], 1)
	w := &licensor.Webhook{URL: "https://hooks.example/x", SecretSealed: []byte("sealed")}
	must(t, dbs[0].CreateWebhook(ctx, w))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var raised atomic.Int32
	race(30, func(i int) {
		a := &licensor.Alert{Type: licensor.AlertContractEnding, ObjectID: "con_1", Level: "7d", RaisedAt: now}
		ok, err := dbs[i%3].RaiseAlert(ctx, a, []byte(`{}`), now.Add(25*time.Hour))
		if err != nil {
			t.Errorf("RaiseAlert: got error %v, want none", err)
		}
		if ok {
			raised.Add(1)
		}
	})
	if got := raised.Load(); got != 1 {
		t.Errorf("episodes opened: got %d, want 1", got)
	}
	ds, err := dbs[1].ListDeliveries(ctx, licensor.DeliveryFilter{})
	must(t, err)
	if len(ds) != 1 {
		t.Errorf("deliveries queued: got %d, want 1", len(ds))
	}
}

func TestClaimDeliveriesDisjointAcrossServers(t *testing.T) {
	// 60 due deliveries; the workers of three servers claim at the same
	// moment, many times: every delivery is claimed exactly once.
	dbs := threeServers(t)
	ctx, _ := seedContract(t, dbs[0], 1)
	must(t, dbs[0].CreateWebhook(ctx, &licensor.Webhook{URL: "https://hooks.example/x", SecretSealed: []byte("sealed")}))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const events = 60
	for i := range events {
		a := &licensor.Alert{Type: licensor.AlertInstanceSilent, ObjectID: fmt.Sprintf("con_1/node-%d", i), RaisedAt: now}
		if _, err := dbs[0].RaiseAlert(ctx, a, []byte(`{}`), now.Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	race(12, func(i int) {
		ds, err := dbs[i%3].ClaimDeliveries(context.Background(), fmt.Sprintf("worker-%d", i), now, now.Add(time.Minute), 8)
		if err != nil {
			t.Errorf("ClaimDeliveries: got error %v, want none", err)
		}
		mu.Lock()
		for _, d := range ds {
			claimed[d.ID]++
		}
		mu.Unlock()
	})
	total := 0
	for id, n := range claimed {
		total += n
		if n != 1 {
			t.Errorf("delivery %s: claimed %d times, want 1", id, n)
		}
	}
	if want := min(events, 12*8); total != want {
		t.Errorf("claims: got %d, want %d (every due delivery, once)", total, want)
	}
}
