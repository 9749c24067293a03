package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func offlineActivation(contractID, instanceID, nonce string) *licensor.OfflineActivation {
	return &licensor.OfflineActivation{
		LicenseID: licensor.NewID(licensor.PrefixLicense), ContractID: contractID, InstanceID: instanceID,
		KeyJKT: "jkt-" + nonce, PublicKey: "x-" + nonce, Fingerprint: "fp-" + instanceID, Nonce: nonce,
		CreatedAt: t0, ExpiresAt: at(365 * 24 * time.Hour),
	}
}

func testOffline(t *testing.T, open opener) {
	t.Run("CreateGetRelease", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 2, nil)
		a := offlineActivation(c.ID, "air-1", "nonce-aaaaaaaaaaaaaaaaaaaa")
		inst, err := s.CreateOfflineActivation(ctx, a, checkin(c.ID, "air-1", t0))
		must(t, "CreateOfflineActivation", err)
		eq(t, "instance seat", inst.Seat, true)

		got, err := s.GetOfflineActivation(ctx, a.LicenseID)
		must(t, "GetOfflineActivation", err)
		eq(t, "TenantID", got.TenantID, ten.ID)
		eq(t, "InstanceID", got.InstanceID, "air-1")
		eq(t, "KeyJKT", got.KeyJKT, a.KeyJKT)
		eq(t, "PublicKey", got.PublicKey, a.PublicKey)
		eq(t, "Fingerprint", got.Fingerprint, a.Fingerprint)
		eq(t, "Nonce", got.Nonce, a.Nonce)
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		checkTime(t, "ExpiresAt", got.ExpiresAt, a.ExpiresAt)
		checkTime(t, "ReleasedAt", got.ReleasedAt, time.Time{})
		eq(t, "SeatsUsed before release", seatsUsed(t, s, ctx, c.ID), 1)
		sil, err := s.SilentInstances(ctx, at(30*24*time.Hour), 3, 100)
		must(t, "SilentInstances", err)
		eq(t, "an instance holding an offline license is not silent", len(sil), 0)
		held, err := s.HeldOfflineActivation(ctx, c.ID, "air-1")
		must(t, "HeldOfflineActivation", err)
		eq(t, "held license", held.LicenseID, a.LicenseID)
		_, err = s.HeldOfflineActivation(ctx, c.ID, "air-2")
		wantCode(t, "HeldOfflineActivation of another instance", err, licensor.ENOTFOUND)

		rel, err := s.ReleaseOfflineActivation(ctx, a.LicenseID, licensor.OfflineReleaseReturned, at(time.Hour))
		must(t, "ReleaseOfflineActivation", err)
		eq(t, "Release", rel.Release, licensor.OfflineReleaseReturned)
		checkTime(t, "ReleasedAt", rel.ReleasedAt, at(time.Hour))
		eq(t, "SeatsUsed after release", seatsUsed(t, s, ctx, c.ID), 0)
		eq(t, "instance seat after release", getInstance(t, s, ctx, c.ID, "air-1").Seat, false)
		_, err = s.HeldOfflineActivation(ctx, c.ID, "air-1")
		wantCode(t, "HeldOfflineActivation after release", err, licensor.ENOTFOUND)
		sil, err = s.SilentInstances(ctx, at(30*24*time.Hour), 3, 100)
		must(t, "SilentInstances after release", err)
		eq(t, "silent once released", len(sil), 1)

		_, err = s.ReleaseOfflineActivation(ctx, a.LicenseID, licensor.OfflineReleaseForced, at(2*time.Hour))
		wantCode(t, "second release", err, licensor.EPRECONDITION)
		eq(t, "SeatsUsed after a second release", seatsUsed(t, s, ctx, c.ID), 0)
		got, err = s.GetOfflineActivation(ctx, a.LicenseID)
		must(t, "GetOfflineActivation after release", err)
		eq(t, "Release kept", got.Release, licensor.OfflineReleaseReturned)
	})

	t.Run("NonceReplayed", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 2, nil)
		_, err := s.CreateOfflineActivation(ctx, offlineActivation(c.ID, "air-1", "nonce-bbbbbbbbbbbbbbbbbbbb"), checkin(c.ID, "air-1", t0))
		must(t, "first", err)
		_, err = s.CreateOfflineActivation(ctx, offlineActivation(c.ID, "air-2", "nonce-bbbbbbbbbbbbbbbbbbbb"), checkin(c.ID, "air-2", t0))
		wantCode(t, "same nonce again", err, licensor.ECONFLICT)
		if !strings.Contains(licensor.ErrorMessage(err), "already answered") {
			t.Errorf("same nonce again: got %q, want it to say the request was already answered", licensor.ErrorMessage(err))
		}
		_, err = s.GetInstance(ctx, c.ID, "air-2")
		wantCode(t, "instance of the refused replay", err, licensor.ENOTFOUND)
		eq(t, "SeatsUsed after the replay", seatsUsed(t, s, ctx, c.ID), 1)
		// Another tenant may use the same nonce: nonces are per tenant.
		ctx2, _ := scope(t, s, "Globex")
		c2 := newContract(t, s, ctx2, 2, nil)
		_, err = s.CreateOfflineActivation(ctx2, offlineActivation(c2.ID, "air-1", "nonce-bbbbbbbbbbbbbbbbbbbb"), checkin(c2.ID, "air-1", t0))
		must(t, "same nonce, other tenant", err)
	})

	t.Run("NoSeatFree", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 1, nil)
		_, err := s.Checkin(ctx, checkin(c.ID, "online-1", t0))
		must(t, "Checkin", err)
		a := offlineActivation(c.ID, "air-1", "nonce-eeeeeeeeeeeeeeeeeeee")
		_, err = s.CreateOfflineActivation(ctx, a, checkin(c.ID, "air-1", t0))
		wantCode(t, "no seat free", err, licensor.EEXHAUSTED)
		_, err = s.GetOfflineActivation(ctx, a.LicenseID)
		wantCode(t, "activation of the refused request", err, licensor.ENOTFOUND)
	})

	t.Run("UnknownContract", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		_, err := s.CreateOfflineActivation(ctx, offlineActivation("con_missing", "air-1", "nonce-cccccccccccccccccccc"), checkin("con_missing", "air-1", t0))
		wantCode(t, "unknown contract", err, licensor.ENOTFOUND)
	})

	t.Run("Isolation", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		c := newContract(t, s, ctx, 2, nil)
		a := offlineActivation(c.ID, "air-1", "nonce-dddddddddddddddddddd")
		_, err := s.CreateOfflineActivation(ctx, a, checkin(c.ID, "air-1", t0))
		must(t, "CreateOfflineActivation", err)
		other, _ := scope(t, s, "Globex")
		_, err = s.GetOfflineActivation(other, a.LicenseID)
		wantCode(t, "other tenant's get", err, licensor.ENOTFOUND)
		_, err = s.HeldOfflineActivation(other, c.ID, "air-1")
		wantCode(t, "other tenant's held", err, licensor.ENOTFOUND)
		_, err = s.ReleaseOfflineActivation(other, a.LicenseID, licensor.OfflineReleaseForced, at(time.Hour))
		wantCode(t, "other tenant's release", err, licensor.ENOTFOUND)
		eq(t, "SeatsUsed untouched", seatsUsed(t, s, ctx, c.ID), 1)
		_, err = s.GetOfflineActivation(t.Context(), a.LicenseID)
		wantCode(t, "no scope", err, licensor.EINTERNAL)
	})
}
