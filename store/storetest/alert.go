package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func newWebhook(t *testing.T, s licensor.Store, ctx context.Context, types ...licensor.AlertType) *licensor.Webhook {
	t.Helper()
	w := &licensor.Webhook{ID: licensor.NewID(licensor.PrefixWebhook), URL: "https://hooks.example.com/x", EventTypes: types,
		SecretSealed: []byte("sealed"), CreatedAt: t0}
	must(t, "CreateWebhook", s.CreateWebhook(ctx, w))
	return w
}

func newAlert(typ licensor.AlertType, object string, at time.Time) *licensor.Alert {
	return &licensor.Alert{ID: licensor.NewID(licensor.PrefixEvent), Type: typ, ObjectID: object, RaisedAt: at,
		Data: json.RawMessage(`{"k":"v"}`)}
}

func testAlerts(t *testing.T, open opener) {
	bg := context.Background()

	t.Run("RaiseOncePerEpisode", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		all := newWebhook(t, s, ctx)
		only := newWebhook(t, s, ctx, licensor.AlertLicenseExpiring)
		newWebhook(t, s, ctx, licensor.AlertInstanceSilent)
		a := newAlert(licensor.AlertLicenseExpiring, "con_1/node-1", t0)
		raised, err := s.RaiseAlert(ctx, a, []byte(`{"type":"license.expiring"}`), at(24*time.Hour))
		must(t, "RaiseAlert", err)
		eq(t, "raised", raised, true)
		eq(t, "TenantID", a.TenantID, ten.ID)
		again := newAlert(licensor.AlertLicenseExpiring, "con_1/node-1", at(time.Minute))
		raised, err = s.RaiseAlert(ctx, again, []byte(`{}`), at(24*time.Hour))
		must(t, "RaiseAlert again", err)
		eq(t, "raised again", raised, false)
		other := newAlert(licensor.AlertLicenseExpiring, "con_1/node-2", at(time.Minute))
		_, err = s.RaiseAlert(ctx, other, []byte(`{}`), at(24*time.Hour))
		must(t, "RaiseAlert other object", err)

		as, err := s.ListAlerts(ctx, licensor.AlertFilter{})
		must(t, "ListAlerts", err)
		eq(t, "open alerts", len(as), 2)
		eq(t, "newest first", as[0].ID, other.ID)
		checkTime(t, "RaisedAt", as[1].RaisedAt, t0)
		jsonEqual(t, "Data", as[1].Data, a.Data)

		ds, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{})
		must(t, "ListDeliveries", err)
		eq(t, "deliveries (2 events × 2 matching webhooks)", len(ds), 4)
		for _, d := range ds {
			if d.WebhookID != all.ID && d.WebhookID != only.ID {
				t.Errorf("delivery to webhook %s, whose filter does not take license.expiring", d.WebhookID)
			}
			eq(t, "Status", d.Status, licensor.DeliveryPending)
			checkTime(t, "GiveUpAt", d.GiveUpAt, at(24*time.Hour))
		}

		cleared, err := s.ClearAlert(ctx, a.ID, at(time.Hour), licensor.NewID(licensor.PrefixEvent), []byte(`{}`), at(25*time.Hour))
		must(t, "ClearAlert", err)
		eq(t, "cleared", cleared, true)
		cleared, err = s.ClearAlert(ctx, a.ID, at(2*time.Hour), licensor.NewID(licensor.PrefixEvent), []byte(`{}`), at(26*time.Hour))
		must(t, "ClearAlert again", err)
		eq(t, "cleared again", cleared, false)
		next := newAlert(licensor.AlertLicenseExpiring, "con_1/node-1", at(3*time.Hour))
		raised, err = s.RaiseAlert(ctx, next, []byte(`{}`), at(48*time.Hour))
		must(t, "RaiseAlert after clear", err)
		eq(t, "a new episode after clear", raised, true)
		as, err = s.ListAlerts(ctx, licensor.AlertFilter{IncludeCleared: true})
		must(t, "ListAlerts IncludeCleared", err)
		eq(t, "all alerts", len(as), 3)
		for _, x := range as {
			if x.ID == a.ID {
				checkTime(t, "ClearedAt", x.ClearedAt, at(time.Hour))
			}
		}
		_, err = s.ClearAlert(ctx, "evt_missing", t0, licensor.NewID(licensor.PrefixEvent), []byte(`{}`), at(time.Hour))
		wantCode(t, "ClearAlert unknown", err, licensor.ENOTFOUND)
	})

	t.Run("ClearQueuesClearedEvent", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		all := newWebhook(t, s, ctx)
		newWebhook(t, s, ctx, licensor.AlertLicenseExpiring) // raises only
		clears := newWebhook(t, s, ctx, licensor.AlertLicenseExpiring.Cleared())
		newWebhook(t, s, ctx, licensor.AlertInstanceSilent.Cleared()) // another type's clears
		ctxB, _ := scope(t, s, "Other")
		newWebhook(t, s, ctxB) // another tenant's: never
		a := newAlert(licensor.AlertLicenseExpiring, "con_1/node-1", t0)
		_, err := s.RaiseAlert(ctx, a, []byte(`{"type":"license.expiring"}`), at(24*time.Hour))
		must(t, "RaiseAlert", err)
		before, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{})
		must(t, "ListDeliveries after raise", err)
		eq(t, "deliveries of the raise (all, raises only)", len(before), 2)

		eventID := licensor.NewID(licensor.PrefixEvent)
		body := []byte(`{"type":"license.expiring.cleared"}`)
		_, err = s.ClearAlert(ctxB, a.ID, at(time.Hour), eventID, body, at(25*time.Hour))
		wantCode(t, "ClearAlert of another tenant", err, licensor.ENOTFOUND)
		cleared, err := s.ClearAlert(ctx, a.ID, at(time.Hour), eventID, body, at(25*time.Hour))
		must(t, "ClearAlert", err)
		eq(t, "cleared", cleared, true)
		ds, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{})
		must(t, "ListDeliveries after clear", err)
		eq(t, "deliveries after clear (2 + all, clears)", len(ds), 4)
		var got []string
		for _, d := range ds {
			if d.EventID != eventID {
				continue
			}
			got = append(got, d.WebhookID)
			eq(t, "EventType", d.EventType, licensor.AlertType("license.expiring.cleared"))
			eq(t, "TenantID", d.TenantID, ten.ID)
			eq(t, "Status", d.Status, licensor.DeliveryPending)
			eq(t, "Body", string(d.Body), string(body))
			checkTime(t, "CreatedAt", d.CreatedAt, at(time.Hour))
			checkTime(t, "NextAttemptAt", d.NextAttemptAt, at(time.Hour))
			checkTime(t, "GiveUpAt", d.GiveUpAt, at(25*time.Hour))
		}
		sort.Strings(got)
		want := []string{all.ID, clears.ID}
		sort.Strings(want)
		eq(t, "webhooks of the cleared event", fmt.Sprint(got), fmt.Sprint(want))

		cleared, err = s.ClearAlert(ctx, a.ID, at(2*time.Hour), licensor.NewID(licensor.PrefixEvent), body, at(26*time.Hour))
		must(t, "ClearAlert again", err)
		eq(t, "cleared again", cleared, false)
		ds, err = s.ListDeliveries(ctx, licensor.DeliveryFilter{})
		must(t, "ListDeliveries after clearing again", err)
		eq(t, "deliveries after clearing again (none added)", len(ds), 4)
		ds, err = s.ListDeliveries(ctxB, licensor.DeliveryFilter{})
		must(t, "ListDeliveries of the other tenant", err)
		eq(t, "other tenant's deliveries", len(ds), 0)
	})

	t.Run("Levels", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		for _, l := range []string{"30d", "7d"} {
			a := newAlert(licensor.AlertContractEnding, "con_1", t0)
			a.Level = l
			raised, err := s.RaiseAlert(ctx, a, []byte(`{}`), at(time.Hour))
			must(t, "RaiseAlert "+l, err)
			eq(t, "raised "+l, raised, true)
		}
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		ctxA, _ := scope(t, s, "A")
		ctxB, _ := scope(t, s, "B")
		a := newAlert(licensor.AlertInstanceSilent, "con_1/x", t0)
		_, err := s.RaiseAlert(ctxA, a, []byte(`{}`), at(time.Hour))
		must(t, "RaiseAlert", err)
		_, err = s.ClearAlert(ctxB, a.ID, t0, licensor.NewID(licensor.PrefixEvent), []byte(`{}`), at(time.Hour))
		wantCode(t, "ClearAlert of another tenant", err, licensor.ENOTFOUND)
		as, err := s.ListAlerts(ctxB, licensor.AlertFilter{IncludeCleared: true})
		must(t, "ListAlerts B", err)
		eq(t, "B's alerts", len(as), 0)
		w := newWebhook(t, s, ctxA)
		_, err = s.GetWebhook(ctxB, w.ID)
		wantCode(t, "GetWebhook of another tenant", err, licensor.ENOTFOUND)
		wantCode(t, "DeleteWebhook of another tenant", s.DeleteWebhook(ctxB, w.ID), licensor.ENOTFOUND)
		_, err = s.ListAlerts(bg, licensor.AlertFilter{})
		wantCode(t, "ListAlerts without scope", err, licensor.EINTERNAL)
		_, err = s.ListWebhooks(bg)
		wantCode(t, "ListWebhooks without scope", err, licensor.EINTERNAL)
	})

	t.Run("ScannerQueries", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 0, func(c *licensor.Contract) { c.EndsAt = at(10 * 24 * time.Hour) })
		ended := newContract(t, s, ctx, 0, func(c *licensor.Contract) { c.Status = licensor.ContractEnded; c.EndsAt = t0 })
		far := newContract(t, s, ctx, 0, func(c *licensor.Contract) { c.EndsAt = at(90 * 24 * time.Hour) })
		ci := func(contract, id string, seen time.Time, valid time.Duration) {
			in := checkin(contract, id, seen)
			in.LicenseExpiresAt = seen.Add(valid)
			_, err := s.Checkin(ctx, in)
			must(t, "Checkin "+id, err)
		}
		ci(c.ID, "old", at(-10*24*time.Hour), 14*24*time.Hour) // expires at +4d, unseen for 10d
		ci(c.ID, "fresh", t0, 14*24*time.Hour)                 // expires at +14d
		ci(ended.ID, "gone", at(-10*24*time.Hour), 14*24*time.Hour)
		ci(far.ID, "soon", at(-time.Hour), 2*24*time.Hour) // expires at +47h, seen an hour ago

		exp, err := s.ExpiringInstances(ctx, t0, at(7*24*time.Hour), 100)
		must(t, "ExpiringInstances", err)
		// Ordered by (contract, instance); the two contracts' ids were made in
		// the same millisecond, so compare as a set.
		expIDs := ids(exp, func(i *licensor.Instance) string { return i.ID })
		sort.Strings(expIDs)
		eq(t, "expiring", fmt.Sprint(expIDs), "[old soon]")
		sil, err := s.SilentInstances(ctx, t0, 3, 100)
		must(t, "SilentInstances", err)
		eq(t, "silent (3 × 2h)", fmt.Sprint(ids(sil, func(i *licensor.Instance) string { return i.ID })), "[old]")
		end, err := s.EndingContracts(ctx, t0, at(30*24*time.Hour), 100)
		must(t, "EndingContracts", err)
		eq(t, "ending within 30d", fmt.Sprint(ids(end, func(c *licensor.Contract) string { return c.ID })), fmt.Sprint([]string{c.ID}))
		// A contract whose end has come is ended, not ending, though its
		// stored status is still active: at its end and after it.
		for _, now := range []time.Time{c.EndsAt.Truncate(time.Microsecond), at(11 * 24 * time.Hour)} {
			end, err = s.EndingContracts(ctx, now, now.Add(30*24*time.Hour), 100)
			must(t, "EndingContracts at "+now.String(), err)
			eq(t, "ending within 30d of "+now.String(), fmt.Sprint(ids(end, func(c *licensor.Contract) string { return c.ID })), "[]")
		}
		end, err = s.EndingContracts(ctx, at(10*24*time.Hour-time.Second), at(40*24*time.Hour), 100)
		must(t, "EndingContracts a second before the end", err)
		eq(t, "ending a second before the end", fmt.Sprint(ids(end, func(c *licensor.Contract) string { return c.ID })), fmt.Sprint([]string{c.ID}))
		hist, err := s.LicenseExpiryHistogram(ctx, t0, []time.Time{t0, at(24 * time.Hour), at(7 * 24 * time.Hour), at(14 * 24 * time.Hour)})
		must(t, "LicenseExpiryHistogram", err)
		eq(t, "histogram", fmt.Sprint(hist), "[0 0 2 0 1]")
		_, err = s.ExpiringInstances(bg, t0, t0, 10)
		wantCode(t, "ExpiringInstances without scope", err, licensor.EINTERNAL)
	})

	t.Run("ScanGauges", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		ctxB, _ := scope(t, s, "Other")
		capped := newContract(t, s, ctx, 5, nil)
		unlimited := newContract(t, s, ctx, 0, nil)
		// An ended contract's seats and cap count for nothing.
		newContract(t, s, ctx, 3, func(c *licensor.Contract) { c.Status = licensor.ContractEnded; c.EndsAt = t0 })
		other := newContract(t, s, ctxB, 9, nil)
		for _, in := range []struct {
			ctx      context.Context
			contract string
			id       string
		}{{ctx, capped.ID, "a"}, {ctx, capped.ID, "b"}, {ctx, unlimited.ID, "c"}, {ctxB, other.ID, "d"}} {
			_, err := s.Checkin(in.ctx, checkin(in.contract, in.id, t0))
			must(t, "Checkin "+in.id, err)
		}
		newWebhook(t, s, ctx)
		_, err := s.RaiseAlert(ctx, newAlert(licensor.AlertInstanceSilent, "con_1/x", t0), []byte(`{}`), at(time.Hour))
		must(t, "RaiseAlert", err)
		g, err := s.ScanGauges(ctx, t0)
		must(t, "ScanGauges", err)
		eq(t, "gauges", g, licensor.ScanGauges{SeatsUsed: 3, SeatsUsedCapped: 2, SeatsMax: 5, DeliveriesPending: 1})
		g, err = s.ScanGauges(ctxB, t0)
		must(t, "ScanGauges of the other tenant", err)
		eq(t, "the other tenant's gauges", g, licensor.ScanGauges{SeatsUsed: 1, SeatsUsedCapped: 1, SeatsMax: 9})
		_, err = s.ScanGauges(bg, t0)
		wantCode(t, "ScanGauges without scope", err, licensor.EINTERNAL)
	})

	t.Run("JobLock", func(t *testing.T) {
		s := open(t)
		got, err := s.AcquireJobLock(bg, "scan", "a", t0, at(time.Minute))
		must(t, "AcquireJobLock a", err)
		eq(t, "a takes a free lock", got, true)
		got, err = s.AcquireJobLock(bg, "scan", "b", at(30*time.Second), at(90*time.Second))
		must(t, "AcquireJobLock b", err)
		eq(t, "b while a holds it", got, false)
		got, err = s.AcquireJobLock(bg, "scan", "a", at(30*time.Second), at(2*time.Minute))
		must(t, "AcquireJobLock a renew", err)
		eq(t, "a renews", got, true)
		got, err = s.AcquireJobLock(bg, "scan", "b", at(2*time.Minute), at(3*time.Minute))
		must(t, "AcquireJobLock b after expiry", err)
		eq(t, "b after a's lock expired", got, true)
		must(t, "ReleaseJobLock a (not holder)", s.ReleaseJobLock(bg, "scan", "a"))
		got, _ = s.AcquireJobLock(bg, "scan", "a", at(2*time.Minute), at(3*time.Minute))
		eq(t, "a after a no-op release", got, false)
		must(t, "ReleaseJobLock b", s.ReleaseJobLock(bg, "scan", "b"))
		got, _ = s.AcquireJobLock(bg, "scan", "a", at(2*time.Minute), at(3*time.Minute))
		eq(t, "a after b released", got, true)
	})

	t.Run("Webhooks", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		w := newWebhook(t, s, ctx, licensor.AlertContractEnding, licensor.AlertLicenseExpiring)
		got, err := s.GetWebhook(ctx, w.ID)
		must(t, "GetWebhook", err)
		eq(t, "TenantID", got.TenantID, ten.ID)
		eq(t, "URL", got.URL, w.URL)
		eq(t, "EventTypes", fmt.Sprint(got.EventTypes), "[contract.ending license.expiring]")
		eq(t, "SecretSealed", string(got.SecretSealed), "sealed")
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		for i := 1; i < licensor.MaxWebhooks; i++ {
			newWebhook(t, s, ctx)
		}
		err = s.CreateWebhook(ctx, &licensor.Webhook{URL: "https://x.example", SecretSealed: []byte("s")})
		wantCode(t, "CreateWebhook past the limit", err, licensor.EEXHAUSTED)
		ws, err := s.ListWebhooks(ctx)
		must(t, "ListWebhooks", err)
		eq(t, "webhooks", len(ws), licensor.MaxWebhooks)
		must(t, "DeleteWebhook", s.DeleteWebhook(ctx, w.ID))
		wantCode(t, "DeleteWebhook again", s.DeleteWebhook(ctx, w.ID), licensor.ENOTFOUND)
	})

	t.Run("DeliveryQueue", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		w := newWebhook(t, s, ctx)
		a := newAlert(licensor.AlertContractEnding, "con_1", t0)
		_, err := s.RaiseAlert(ctx, a, []byte(`{"type":"contract.ending"}`), at(25*time.Hour))
		must(t, "RaiseAlert", err)

		none, err := s.ClaimDeliveries(bg, "w0", at(-time.Second), at(time.Minute), 10)
		must(t, "ClaimDeliveries before due", err)
		eq(t, "claimed before due", len(none), 0)
		ds, err := s.ClaimDeliveries(bg, "w1", t0, at(time.Minute), 10)
		must(t, "ClaimDeliveries w1", err)
		eq(t, "claimed by w1", len(ds), 1)
		d := ds[0]
		eq(t, "TenantID", d.TenantID, ten.ID)
		eq(t, "EventID", d.EventID, a.ID)
		eq(t, "URL", d.URL, w.URL)
		eq(t, "SecretSealed", string(d.SecretSealed), "sealed")
		eq(t, "Body", string(d.Body), `{"type":"contract.ending"}`)
		again, err := s.ClaimDeliveries(bg, "w2", at(time.Second), at(time.Minute), 10)
		must(t, "ClaimDeliveries w2", err)
		eq(t, "claimed by w2 while w1 holds it", len(again), 0)

		fail := licensor.DeliveryAttempt{DeliveryID: d.ID, Claim: "w1", At: at(time.Second), StatusCode: 503,
			Latency: 20 * time.Millisecond, Error: "endpoint answered 503", Status: licensor.DeliveryPending, NextAttemptAt: at(31 * time.Second)}
		wantCode(t, "CompleteDelivery with another claim", s.CompleteDelivery(ctx, licensor.DeliveryAttempt{DeliveryID: d.ID, Claim: "w2", Status: licensor.DeliveryPending}), licensor.ECONFLICT)
		wantCode(t, "CompleteDelivery without scope", s.CompleteDelivery(bg, fail), licensor.EINTERNAL)
		must(t, "CompleteDelivery", s.CompleteDelivery(ctx, fail))
		wantCode(t, "CompleteDelivery twice", s.CompleteDelivery(ctx, fail), licensor.ECONFLICT)
		got, err := s.GetDelivery(ctx, d.ID)
		must(t, "GetDelivery", err)
		eq(t, "Attempts", got.Attempts, 1)
		eq(t, "LastStatus", got.LastStatus, 503)
		eq(t, "LastLatency", got.LastLatency, 20*time.Millisecond)
		eq(t, "LastError", got.LastError, "endpoint answered 503")
		checkTime(t, "NextAttemptAt", got.NextAttemptAt, at(31*time.Second))

		// An expired claim is taken over; the old worker's late result is refused.
		ds, err = s.ClaimDeliveries(bg, "w3", at(31*time.Second), at(40*time.Second), 10)
		must(t, "ClaimDeliveries w3", err)
		eq(t, "claimed by w3", len(ds), 1)
		ds, err = s.ClaimDeliveries(bg, "w4", at(41*time.Second), at(2*time.Minute), 10)
		must(t, "ClaimDeliveries w4 after w3's claim expired", err)
		eq(t, "claimed by w4", len(ds), 1)
		wantCode(t, "CompleteDelivery by w3 after takeover", s.CompleteDelivery(ctx, licensor.DeliveryAttempt{DeliveryID: d.ID, Claim: "w3", Status: licensor.DeliverySucceeded, At: at(41 * time.Second)}), licensor.ECONFLICT)
		must(t, "CompleteDelivery w4", s.CompleteDelivery(ctx, licensor.DeliveryAttempt{DeliveryID: d.ID, Claim: "w4", At: at(42 * time.Second), StatusCode: 200, Status: licensor.DeliverySucceeded}))
		got, _ = s.GetDelivery(ctx, d.ID)
		eq(t, "Status", got.Status, licensor.DeliverySucceeded)
		eq(t, "Attempts", got.Attempts, 2)
		checkTime(t, "DeliveredAt", got.DeliveredAt, at(42*time.Second))
		ds, _ = s.ClaimDeliveries(bg, "w5", at(time.Hour), at(2*time.Hour), 10)
		eq(t, "claimed after success", len(ds), 0)

		red, err := s.Redeliver(ctx, d.ID, at(time.Hour), at(26*time.Hour))
		must(t, "Redeliver", err)
		eq(t, "Status after Redeliver", red.Status, licensor.DeliveryPending)
		checkTime(t, "GiveUpAt after Redeliver", red.GiveUpAt, at(26*time.Hour))
		ds, _ = s.ClaimDeliveries(bg, "w6", at(time.Hour), at(2*time.Hour), 10)
		eq(t, "claimed after Redeliver", len(ds), 1)
		_, err = s.Redeliver(ctx, "dlv_missing", t0, t0)
		wantCode(t, "Redeliver unknown", err, licensor.ENOTFOUND)

		list, err := s.ListDeliveries(ctx, licensor.DeliveryFilter{Status: licensor.DeliverySucceeded})
		must(t, "ListDeliveries succeeded", err)
		eq(t, "succeeded deliveries", len(list), 0)
		list, err = s.ListDeliveries(ctx, licensor.DeliveryFilter{WebhookID: w.ID})
		must(t, "ListDeliveries by webhook", err)
		eq(t, "deliveries of the webhook", len(list), 1)

		must(t, "DeleteWebhook", s.DeleteWebhook(ctx, w.ID))
		_, err = s.GetDelivery(ctx, d.ID)
		wantCode(t, "GetDelivery after its webhook was deleted", err, licensor.ENOTFOUND)
	})
}
