package notify_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// contract.ending is raised once per window as the end comes closer, and
// once the end has come the contract is ended, not ending: every open
// ending alert of it clears and no new one is raised.
func TestContractEndingAcrossTheEnd(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t) // scans driven by hand with the fake clock
	const day = 24 * time.Hour
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 40 * day})
	adm := s.Admin(testserver.GRPC, f.AdminToken)

	// levels scans once and returns the open (and, with all, cleared)
	// contract.ending levels of the contract, sorted.
	levels := func(all bool) string {
		t.Helper()
		if err := s.Scanner.ScanOnce(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := adm.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{TenantId: f.TenantID, IncludeCleared: all}))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range res.Msg.Alerts {
			if a.Type != "contract.ending" || a.ObjectId != f.ContractID {
				continue
			}
			l := fmt.Sprint(a.Data.AsMap()["level"])
			if a.ClearedAt != nil {
				l += " cleared"
			}
			out = append(out, l)
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	steps := []struct {
		name    string
		advance time.Duration // from the previous step
		all     bool
		want    string
	}{
		{"FortyDaysLeft", 0, false, "[]"},
		{"TwentyDaysLeft", 20 * day, false, "[30d]"},
		{"FiveDaysLeft", 15 * day, false, "[30d 7d]"},
		{"HalfADayLeft", 4*day + 12*time.Hour, false, "[1d 30d 7d]"},
		{"AtTheEnd", 12 * time.Hour, false, "[]"},
		{"AtTheEndWithCleared", 0, true, "[1d cleared 30d cleared 7d cleared]"},
		{"ADayAfter", day, true, "[1d cleared 30d cleared 7d cleared]"},
	}
	for _, st := range steps {
		s.Clock.Advance(st.advance)
		if got := levels(st.all); got != st.want {
			t.Errorf("%s: contract.ending levels got %s, want %s", st.name, got, st.want)
		}
	}
}

// A contract first scanned after its end raises no contract.ending at all
// (not the three windows at once).
func TestEndedContractIsNotEnding(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 2 * 24 * time.Hour})
	adm := s.Admin(testserver.GRPC, f.AdminToken)
	s.Clock.Advance(3 * 24 * time.Hour)
	for range 2 {
		if err := s.Scanner.ScanOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	res, err := adm.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{TenantId: f.TenantID, IncludeCleared: true}))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Msg.Alerts {
		if a.Type == "contract.ending" {
			t.Errorf("alert %s: got contract.ending (level %v) for a contract that had ended, want none", a.Id, a.Data.AsMap()["level"])
		}
	}
}
