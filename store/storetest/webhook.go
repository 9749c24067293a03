package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testWebhookDisable: a disabled webhook's deliveries stay queued but are
// not claimed; enabling releases them, in due order.
func testWebhookDisable(t *testing.T, open opener) {
	bg := context.Background()
	raise := func(t *testing.T, s licensor.Store, ctx context.Context, object string, at time.Time) *licensor.Alert {
		t.Helper()
		a := newAlert(licensor.AlertContractEnding, object, at)
		_, err := s.RaiseAlert(ctx, a, []byte(`{}`), at.Add(25*time.Hour))
		must(t, "RaiseAlert "+object, err)
		return a
	}
	claimEvents := func(t *testing.T, s licensor.Store, claim string, now time.Time) []string {
		t.Helper()
		ds, err := s.ClaimDeliveries(bg, claim, now, now.Add(time.Minute), 10)
		must(t, "ClaimDeliveries "+claim, err)
		var out []string
		for _, d := range ds {
			out = append(out, d.EventID)
		}
		return out
	}

	t.Run("HoldAndRelease", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		w := newWebhook(t, s, ctx)
		other := newWebhook(t, s, ctx)
		early := raise(t, s, ctx, "con_1", t0) // queued before the webhook is disabled

		got, err := s.SetWebhookDisabled(ctx, w.ID, at(time.Second))
		must(t, "SetWebhookDisabled", err)
		eq(t, "Disabled", got.Disabled(), true)
		checkTime(t, "DisabledAt", got.DisabledAt, at(time.Second))
		again, err := s.SetWebhookDisabled(ctx, w.ID, at(time.Minute))
		must(t, "SetWebhookDisabled again", err)
		checkTime(t, "DisabledAt after disabling again", again.DisabledAt, at(time.Second))
		read, err := s.GetWebhook(ctx, w.ID)
		must(t, "GetWebhook", err)
		checkTime(t, "DisabledAt read back", read.DisabledAt, at(time.Second))

		late := raise(t, s, ctx, "con_2", at(2*time.Second)) // queued while disabled
		ds, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{WebhookID: w.ID})
		must(t, "ListDeliveries", err)
		eq(t, "deliveries queued for the disabled webhook", len(ds), 2)

		// Only the enabled webhook's deliveries go out.
		claimed, err := s.ClaimDeliveries(bg, "c1", at(time.Hour), at(time.Hour+time.Minute), 10)
		must(t, "ClaimDeliveries while disabled", err)
		eq(t, "claimed while disabled", len(claimed), 2)
		for _, d := range claimed {
			eq(t, "WebhookID claimed while disabled", d.WebhookID, other.ID)
			must(t, "CompleteDelivery", s.CompleteDelivery(ctx, licensor.DeliveryAttempt{DeliveryID: d.ID, Claim: "c1",
				At: at(time.Hour), StatusCode: 200, Status: licensor.DeliverySucceeded}))
		}

		// A redelivered delivery of a disabled webhook is held too. (ds is
		// newest first: this is the late event's, now due at +1h.)
		if _, err := s.Redeliver(ctx, ds[0].ID, at(time.Hour), at(26*time.Hour)); err != nil {
			t.Fatalf("Redeliver: got error %v, want none", err)
		}
		eq(t, "claimed after Redeliver while disabled", len(claimEvents(t, s, "c2", at(2*time.Hour))), 0)

		got, err = s.SetWebhookDisabled(ctx, w.ID, time.Time{})
		must(t, "SetWebhookDisabled enable", err)
		eq(t, "Disabled after enable", got.Disabled(), false)
		got, err = s.SetWebhookDisabled(ctx, w.ID, time.Time{})
		must(t, "SetWebhookDisabled enable again", err)
		eq(t, "Disabled after enabling again", got.Disabled(), false)
		events := claimEvents(t, s, "c3", at(2*time.Hour))
		eq(t, "claimed after enable", len(events), 2)
		// Due order: the early event (due at t0) before the late one.
		if len(events) == 2 {
			eq(t, "first claimed", events[0], early.ID)
			eq(t, "second claimed", events[1], late.ID)
		}
		// Enabled again, new events are queued unheld (both webhooks take them).
		next := raise(t, s, ctx, "con_3", at(3*time.Hour))
		events = claimEvents(t, s, "c4", at(2*time.Hour+time.Second))
		eq(t, "claimed before the new event is due, while c3 holds the others", len(events), 0)
		events = claimEvents(t, s, "c5", at(3*time.Hour))
		var fresh int
		for _, e := range events {
			if e == next.ID {
				fresh++
			}
		}
		eq(t, "new event's deliveries claimed", fresh, 2)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		ctxA, _ := scope(t, s, "A")
		ctxB, _ := scope(t, s, "B")
		w := newWebhook(t, s, ctxA)
		_, err := s.SetWebhookDisabled(ctxB, w.ID, t0)
		wantCode(t, "SetWebhookDisabled of another tenant", err, licensor.ENOTFOUND)
		got, err := s.GetWebhook(ctxA, w.ID)
		must(t, "GetWebhook", err)
		eq(t, "Disabled after another tenant tried", got.Disabled(), false)
		_, err = s.SetWebhookDisabled(ctxA, "wh_missing", t0)
		wantCode(t, "SetWebhookDisabled unknown", err, licensor.ENOTFOUND)
		_, err = s.SetWebhookDisabled(bg, w.ID, t0)
		wantCode(t, "SetWebhookDisabled without scope", err, licensor.EINTERNAL)
	})
}
