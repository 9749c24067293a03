package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func testConcurrency(t *testing.T, open opener) {
	t.Run("CheckinRace", func(t *testing.T) {
		// 50 new instances race for 10 seats: exactly 10 win, every other
		// one is told EEXHAUSTED, and the counter agrees. Then the seats are
		// released and the race runs again.
		const racers, seats, rounds = 50, 10, 3
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, seats, nil)
		for round := range rounds {
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, racers)
			for i := range racers {
				wg.Go(func() {
					<-start
					in := checkin(c.ID, fmt.Sprintf("r%d-i%02d", round, i), at(time.Duration(round)*time.Hour))
					_, errs[i] = s.Checkin(ctx, in)
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch licensor.ErrorCode(err) {
				case "":
					won++
				case licensor.EEXHAUSTED:
				default:
					t.Errorf("round %d: racer %d: got error %v, want none or %q", round, i, err, licensor.EEXHAUSTED)
				}
			}
			eq(t, fmt.Sprintf("round %d: check-ins that got a seat", round), won, seats)
			eq(t, fmt.Sprintf("round %d: SeatsUsed", round), seatsUsed(t, s, ctx, c.ID), seats)
			held := 0
			list, err := s.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
			must(t, "ListInstances", err)
			for _, inst := range list {
				if inst.Seat {
					held++
					must(t, "ReleaseSeat", s.ReleaseSeat(ctx, c.ID, inst.ID))
				}
			}
			eq(t, fmt.Sprintf("round %d: instances holding a seat", round), held, seats)
			eq(t, fmt.Sprintf("round %d: SeatsUsed after releasing", round), seatsUsed(t, s, ctx, c.ID), 0)
		}
	})

	t.Run("RefreshRace", func(t *testing.T) {
		// Holders refreshing concurrently with newcomers never count twice.
		const seats = 5
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, seats, nil)
		for i := range seats {
			_, err := s.Checkin(ctx, checkin(c.ID, fmt.Sprintf("holder-%d", i), t0))
			must(t, "Checkin", err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range errs {
			wg.Go(func() {
				id := fmt.Sprintf("holder-%d", i%seats)
				if i%2 == 1 {
					id = fmt.Sprintf("newcomer-%d", i)
				}
				_, errs[i] = s.Checkin(ctx, checkin(c.ID, id, at(time.Minute)))
			})
		}
		wg.Wait()
		for i, err := range errs {
			want := ""
			if i%2 == 1 {
				want = licensor.EEXHAUSTED
			}
			if got := licensor.ErrorCode(err); got != want {
				t.Errorf("check-in %d: got error %v, want code %q", i, err, want)
			}
		}
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), seats)
	})

	t.Run("SameNewInstanceRace", func(t *testing.T) {
		// One new instance checks in many times at once (a retry storm,
		// or several servers) when one seat is left: it takes that seat
		// once, and every call succeeds.
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 2, nil)
		_, err := s.Checkin(ctx, checkin(c.ID, "holder", t0))
		must(t, "Checkin", err)
		var wg sync.WaitGroup
		errs := make([]error, 30)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Checkin(ctx, checkin(c.ID, "newcomer", at(time.Minute)))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("check-in %d: got error %v, want none", i, err)
			}
		}
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 2)
	})
}
