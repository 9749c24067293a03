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
