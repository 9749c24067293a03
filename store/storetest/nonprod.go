package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// nonProdContract is a production-URL contract with seats production seats
// and a cap of maxNonProd non-production URLs.
func nonProdContract(t *testing.T, s licensor.Store, ctx context.Context, seats, maxNonProd int) *licensor.Contract {
	t.Helper()
	return newContract(t, s, ctx, seats, func(c *licensor.Contract) {
		c.SeatRule, c.MaxNonProductionURLs = licensor.SeatProductionURL, maxNonProd
	})
}

// staging is a check-in of a non-production URL: it takes no seat.
func staging(contractID, url string, now time.Time) licensor.Checkin {
	in := checkin(contractID, url, now)
	in.TakesSeat, in.Environment = false, "staging"
	return in
}

func nonProdUsed(t *testing.T, s licensor.Store, ctx context.Context, contractID string) int {
	t.Helper()
	c, err := s.GetContract(ctx, contractID)
	must(t, "GetContract", err)
	return c.NonProductionURLsUsed
}

// testNonProduction pins down the cap on non-production URLs: decided in
// the check-in like seats, counted once per instance, freed by ReleaseSeat.
func testNonProduction(t *testing.T, open opener) {
	t.Run("CapRefusesANewURL", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := nonProdContract(t, s, ctx, 1, 2)
		eq(t, "MaxNonProductionURLs stored", c.MaxNonProductionURLs, 2)
		for _, u := range []string{"https://s1.example", "https://s2.example"} {
			got, err := s.Checkin(ctx, staging(c.ID, u, t0))
			must(t, "Checkin "+u, err)
			eq(t, u+" Seat", got.Seat, false)
			eq(t, u+" NonProductionSlot", got.NonProductionSlot, true)
		}
		eq(t, "NonProductionURLsUsed", nonProdUsed(t, s, ctx, c.ID), 2)

		_, err := s.Checkin(ctx, staging(c.ID, "https://s3.example", at(time.Minute)))
		wantCode(t, "Checkin of a third staging URL", err, licensor.EEXHAUSTED)
		if msg := licensor.ErrorMessage(err); !strings.Contains(msg, "allows 2 non-production") || !strings.Contains(msg, "holds 2") {
			t.Errorf("refusal message: got %q, want it to name the cap (2) and the URLs held (2)", msg)
		}
		_, err = s.GetInstance(ctx, c.ID, "https://s3.example")
		wantCode(t, "GetInstance of the refused URL", err, licensor.ENOTFOUND)
		eq(t, "NonProductionURLsUsed after the refusal", nonProdUsed(t, s, ctx, c.ID), 2)
		eq(t, "SeatsUsed after the refusal", seatsUsed(t, s, ctx, c.ID), 0)

		// A refresh of a URL that holds its slot does not count again.
		for i := range 3 {
			got, err := s.Checkin(ctx, staging(c.ID, "https://s1.example", at(time.Duration(i+2)*time.Minute)))
			must(t, "refresh of s1", err)
			eq(t, "s1 NonProductionSlot", got.NonProductionSlot, true)
		}
		checkTime(t, "s1 LastSeenAt", getInstance(t, s, ctx, c.ID, "https://s1.example").LastSeenAt, at(4*time.Minute))
		eq(t, "NonProductionURLsUsed after refreshes", nonProdUsed(t, s, ctx, c.ID), 2)

		// Production URLs take seats, not slots.
		got, err := s.Checkin(ctx, checkin(c.ID, "https://www.example", t0))
		must(t, "Checkin of a production URL at the cap", err)
		eq(t, "production Seat", got.Seat, true)
		eq(t, "production NonProductionSlot", got.NonProductionSlot, false)
		eq(t, "NonProductionURLsUsed after a production URL", nonProdUsed(t, s, ctx, c.ID), 2)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 1)
		// A production URL checking in as staging keeps its seat and takes
		// no slot.
		got, err = s.Checkin(ctx, staging(c.ID, "https://www.example", at(time.Hour)))
		must(t, "Checkin of the production URL as staging", err)
		eq(t, "www Seat", got.Seat, true)
		eq(t, "www NonProductionSlot", got.NonProductionSlot, false)
		eq(t, "NonProductionURLsUsed", nonProdUsed(t, s, ctx, c.ID), 2)
	})

	t.Run("ReleaseFreesASlot", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := nonProdContract(t, s, ctx, 0, 1)
		_, err := s.Checkin(ctx, staging(c.ID, "https://s1.example", t0))
		must(t, "Checkin s1", err)
		_, err = s.Checkin(ctx, staging(c.ID, "https://s2.example", t0))
		wantCode(t, "Checkin s2 at the cap", err, licensor.EEXHAUSTED)

		must(t, "ReleaseSeat s1", s.ReleaseSeat(ctx, c.ID, "https://s1.example"))
		eq(t, "NonProductionURLsUsed after release", nonProdUsed(t, s, ctx, c.ID), 0)
		eq(t, "s1 NonProductionSlot after release", getInstance(t, s, ctx, c.ID, "https://s1.example").NonProductionSlot, false)
		must(t, "ReleaseSeat s1 again", s.ReleaseSeat(ctx, c.ID, "https://s1.example"))
		eq(t, "NonProductionURLsUsed after releasing twice", nonProdUsed(t, s, ctx, c.ID), 0)

		got, err := s.Checkin(ctx, staging(c.ID, "https://s2.example", at(time.Minute)))
		must(t, "Checkin s2 into the freed slot", err)
		eq(t, "s2 NonProductionSlot", got.NonProductionSlot, true)
		// s1 competes again and finds none; nothing about it changes.
		_, err = s.Checkin(ctx, staging(c.ID, "https://s1.example", at(time.Hour)))
		wantCode(t, "Checkin s1 after its release, at the cap", err, licensor.EEXHAUSTED)
		checkTime(t, "s1 LastSeenAt after a refused check-in", getInstance(t, s, ctx, c.ID, "https://s1.example").LastSeenAt, t0)
		eq(t, "NonProductionURLsUsed", nonProdUsed(t, s, ctx, c.ID), 1)
	})

	t.Run("PromotionGivesUpTheSlot", func(t *testing.T) {
		// A staging URL that goes to production takes a seat and gives its
		// slot up: an instance is counted once.
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := nonProdContract(t, s, ctx, 2, 1)
		_, err := s.Checkin(ctx, staging(c.ID, "https://app.example", t0))
		must(t, "Checkin as staging", err)
		got, err := s.Checkin(ctx, checkin(c.ID, "https://app.example", at(time.Minute)))
		must(t, "Checkin as production", err)
		eq(t, "Seat", got.Seat, true)
		eq(t, "NonProductionSlot", got.NonProductionSlot, false)
		eq(t, "SeatsUsed", seatsUsed(t, s, ctx, c.ID), 1)
		eq(t, "NonProductionURLsUsed", nonProdUsed(t, s, ctx, c.ID), 0)
		eq(t, "stored NonProductionSlot", getInstance(t, s, ctx, c.ID, "https://app.example").NonProductionSlot, false)
	})

	t.Run("CapChangedByUpdate", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := nonProdContract(t, s, ctx, 0, 1)
		_, err := s.Checkin(ctx, staging(c.ID, "https://s1.example", t0))
		must(t, "Checkin s1", err)
		c.MaxNonProductionURLs = 2
		must(t, "UpdateContract", s.UpdateContract(ctx, c))
		eq(t, "NonProductionURLsUsed written back", c.NonProductionURLsUsed, 1)
		_, err = s.Checkin(ctx, staging(c.ID, "https://s2.example", t0))
		must(t, "Checkin s2 under the raised cap", err)
		c.MaxNonProductionURLs = 0
		must(t, "UpdateContract to unlimited", s.UpdateContract(ctx, c))
		for i := range 3 {
			_, err := s.Checkin(ctx, staging(c.ID, fmt.Sprintf("https://u%d.example", i), t0))
			must(t, "Checkin without a cap", err)
		}
		eq(t, "NonProductionURLsUsed", nonProdUsed(t, s, ctx, c.ID), 5)
	})

	t.Run("Race", func(t *testing.T) {
		// 30 new staging URLs race for 4 slots: exactly 4 win, the others
		// are told EEXHAUSTED, and the counter agrees.
		const racers, slots = 30, 4
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := nonProdContract(t, s, ctx, 0, slots)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Checkin(ctx, staging(c.ID, fmt.Sprintf("https://s%02d.example", i), t0))
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
				t.Errorf("racer %d: got error %v, want none or %q", i, err, licensor.EEXHAUSTED)
			}
		}
		eq(t, "check-ins that got a slot", won, slots)
		eq(t, "NonProductionURLsUsed", nonProdUsed(t, s, ctx, c.ID), slots)
		list, err := s.ListInstances(ctx, licensor.InstanceFilter{ContractID: c.ID, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
		must(t, "ListInstances", err)
		eq(t, "instances recorded", len(list), slots)
	})
}
