package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func newKey(createdAt, publishUntil time.Time) *licensor.SigningKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	return &licensor.SigningKey{
		ID: licensor.NewID(licensor.PrefixKey), Public: pub, Sealed: []byte("sealed:" + string(pub[:8])),
		CreatedAt: createdAt, PublishUntil: publishUntil,
	}
}

func listKeys(t *testing.T, s licensor.Store, ctx context.Context) []*licensor.SigningKey {
	t.Helper()
	ks, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	return ks
}

func testSigningKeys(t *testing.T, open opener) {
	day := 24 * time.Hour

	t.Run("CreateRotate", func(t *testing.T) {
		s := open(t)
		ctx, ten := scope(t, s, "Acme")
		k1 := newKey(t0, at(14*day))
		must(t, "CreateSigningKey k1", s.CreateSigningKey(ctx, k1, time.Time{}))
		ks := listKeys(t, s, ctx)
		if len(ks) != 1 {
			t.Fatalf("ListSigningKeys: got %d keys, want 1", len(ks))
		}
		got := ks[0]
		eq(t, "ID", got.ID, k1.ID)
		eq(t, "TenantID", got.TenantID, ten.ID)
		if !bytes.Equal(got.Public, k1.Public) || !bytes.Equal(got.Sealed, k1.Sealed) {
			t.Errorf("key material: got %x/%q, want %x/%q", got.Public, got.Sealed, k1.Public, k1.Sealed)
		}
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		checkTime(t, "RetiredAt", got.RetiredAt, time.Time{})
		checkTime(t, "PublishUntil", got.PublishUntil, at(14*day))

		// Rotation: k2 becomes active; k1 retires at k2's creation and stays
		// published until the given time.
		k2 := newKey(at(day), at(15*day))
		must(t, "CreateSigningKey k2", s.CreateSigningKey(ctx, k2, at(20*day)))
		ks = listKeys(t, s, ctx)
		if len(ks) != 2 {
			t.Fatalf("ListSigningKeys: got %d keys, want 2", len(ks))
		}
		eq(t, "newest first", ks[0].ID, k2.ID)
		eq(t, "then", ks[1].ID, k1.ID)
		checkTime(t, "k2 RetiredAt", ks[0].RetiredAt, time.Time{})
		checkTime(t, "k2 PublishUntil", ks[0].PublishUntil, at(15*day))
		checkTime(t, "k1 RetiredAt", ks[1].RetiredAt, at(day))
		checkTime(t, "k1 PublishUntil", ks[1].PublishUntil, at(20*day))

		// A retired key's PublishUntil is only ever raised.
		k3 := newKey(at(2*day), at(16*day))
		must(t, "CreateSigningKey k3", s.CreateSigningKey(ctx, k3, at(3*day)))
		ks = listKeys(t, s, ctx)
		if len(ks) != 3 {
			t.Fatalf("ListSigningKeys: got %d keys, want 3", len(ks))
		}
		eq(t, "newest", ks[0].ID, k3.ID)
		checkTime(t, "k2 RetiredAt", ks[1].RetiredAt, at(2*day))
		checkTime(t, "k2 PublishUntil (not lowered)", ks[1].PublishUntil, at(15*day))
		checkTime(t, "k1 RetiredAt (unchanged)", ks[2].RetiredAt, at(day))
		active := 0
		for _, k := range ks {
			if k.RetiredAt.IsZero() {
				active++
			}
		}
		eq(t, "active keys", active, 1)
	})

	// Staged rotation: the next key is stored ahead of its activation; the
	// key signing until then retires at that instant, not at the new key's
	// creation. A second staged (or immediate) rotation before the first
	// activates cuts every key still due to sign after it.
	t.Run("Staged", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		k1 := newKey(t0, at(14*day))
		must(t, "CreateSigningKey k1", s.CreateSigningKey(ctx, k1, time.Time{}))
		checkTime(t, "k1 ActivateAt (zero: its creation)", listKeys(t, s, ctx)[0].ActivateAt, t0)

		k2 := newKey(at(day), at(15*day))
		k2.ActivateAt = at(15 * day)
		must(t, "CreateSigningKey k2", s.CreateSigningKey(ctx, k2, at(29*day)))
		ks := listKeys(t, s, ctx)
		eq(t, "newest first", ks[0].ID, k2.ID)
		checkTime(t, "k2 ActivateAt", ks[0].ActivateAt, at(15*day))
		checkTime(t, "k2 RetiredAt", ks[0].RetiredAt, time.Time{})
		checkTime(t, "k1 RetiredAt (at k2's activation)", ks[1].RetiredAt, at(15*day))
		checkTime(t, "k1 PublishUntil", ks[1].PublishUntil, at(29*day))
		for _, c := range []struct {
			at     time.Duration
			signer string
		}{{2 * day, k1.ID}, {15*day - time.Second, k1.ID}, {15 * day, k2.ID}, {40 * day, k2.ID}} {
			var got []string
			for _, k := range ks {
				if k.SignsAt(at(c.at)) {
					got = append(got, k.ID)
				}
			}
			if len(got) != 1 || got[0] != c.signer {
				t.Errorf("keys signing at +%s: got %v, want [%s]", c.at, got, c.signer)
			}
		}

		// An immediate rotation at day 3 supersedes the staged k2: k1 and k2
		// both retire then, so k2 never signs.
		k3 := newKey(at(3*day), at(17*day))
		must(t, "CreateSigningKey k3", s.CreateSigningKey(ctx, k3, at(17*day)))
		ks = listKeys(t, s, ctx)
		eq(t, "newest", ks[0].ID, k3.ID)
		checkTime(t, "k2 RetiredAt (cut)", ks[1].RetiredAt, at(3*day))
		checkTime(t, "k1 RetiredAt (cut)", ks[2].RetiredAt, at(3*day))
		checkTime(t, "k1 PublishUntil (not lowered)", ks[2].PublishUntil, at(29*day))
		for _, k := range ks[1:] {
			if k.SignsAt(at(20 * day)) {
				t.Errorf("%s still signs at +20d after the immediate rotation", k.ID)
			}
		}
	})

	t.Run("RotateAtomic", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		k1 := newKey(t0, at(14*day))
		must(t, "CreateSigningKey", s.CreateSigningKey(ctx, k1, time.Time{}))
		dup := newKey(at(day), at(15*day))
		dup.ID = k1.ID
		wantCode(t, "CreateSigningKey with a taken id", s.CreateSigningKey(ctx, dup, at(20*day)), licensor.ECONFLICT)
		ks := listKeys(t, s, ctx)
		if len(ks) != 1 {
			t.Fatalf("ListSigningKeys: got %d keys, want 1", len(ks))
		}
		checkTime(t, "RetiredAt after a failed rotation", ks[0].RetiredAt, time.Time{})
		checkTime(t, "PublishUntil after a failed rotation", ks[0].PublishUntil, at(14*day))
	})

	t.Run("Extend", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		k := newKey(t0, at(14*day))
		must(t, "CreateSigningKey", s.CreateSigningKey(ctx, k, time.Time{}))
		must(t, "ExtendKeyPublication", s.ExtendKeyPublication(ctx, k.ID, at(300*day)))
		checkTime(t, "PublishUntil raised", listKeys(t, s, ctx)[0].PublishUntil, at(300*day))
		must(t, "ExtendKeyPublication lower", s.ExtendKeyPublication(ctx, k.ID, at(30*day)))
		checkTime(t, "PublishUntil not lowered", listKeys(t, s, ctx)[0].PublishUntil, at(300*day))
		wantCode(t, "ExtendKeyPublication of an unknown key",
			s.ExtendKeyPublication(ctx, licensor.NewID(licensor.PrefixKey), at(day)), licensor.ENOTFOUND)
	})

	t.Run("ListEmpty", func(t *testing.T) {
		s := open(t)
		ctx, _ := scope(t, s, "Acme")
		eq(t, "len(ListSigningKeys)", len(listKeys(t, s, ctx)), 0)
	})
}
