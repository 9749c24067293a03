package service

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// A fill that read the store before an invalidation must not put the old
// value back: the revoked token it carries would authenticate for a TTL.
func TestTTLCacheFillAfterInvalidation(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name       string
		invalidate func(c *ttlCache[string, string])
		cached     bool
	}{
		{"NoInvalidation", func(*ttlCache[string, string]) {}, true},
		{"DeleteOfAnotherKey", func(c *ttlCache[string, string]) { c.delete("other") }, false},
		{"DeleteOfThisKey", func(c *ttlCache[string, string]) { c.delete("tok") }, false},
		{"DeleteFunc", func(c *ttlCache[string, string]) { c.deleteFunc(func(v string) bool { return v == "revoked" }) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTTLCache[string, string](2*time.Second, clock)
			gen := c.generation() // before the store read
			tc.invalidate(c)      // a revocation commits meanwhile
			c.put("tok", "read before the revocation", gen)
			if _, ok := c.get("tok"); ok != tc.cached {
				t.Errorf("cached after the fill: got %v, want %v", ok, tc.cached)
			}
			// A fill that starts after the invalidation is cached.
			c.put("tok", "fresh", c.generation())
			if v, ok := c.get("tok"); !ok || v != "fresh" {
				t.Errorf("a fill after the invalidation: got %q, %v; want it cached", v, ok)
			}
			now = now.Add(2 * time.Second)
			if _, ok := c.get("tok"); ok {
				t.Error("an entry as old as the TTL: got it, want it expired")
			}
		})
	}
}

// A tenant fill that read the row before an UpdateTenant must not put the
// old row back: the old concurrency limit would apply for a whole TTL.
func TestTenantCacheFillAfterUpdate(t *testing.T) {
	f := newFixture(t)
	h := f.store.holdNext("GetTenant")
	type limits struct {
		limit int
		err   error
	}
	filled := make(chan limits, 1)
	go func() {
		limit, _, err := f.svc.TenantLimits(context.Background(), f.tenantID)
		filled <- limits{limit, err}
	}()
	<-h.read // the fill has read the old row
	lower := 5
	if _, err := f.svc.UpdateTenant(f.admin, "", TenantUpdate{ConcurrencyLimit: &lower}); err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	close(h.release) // the fill puts what it read
	old := <-filled
	if old.err != nil || old.limit != licensor.DefaultConcurrencyLimit {
		t.Fatalf("the held fill: got %d, %v; want %d (it read before the update)", old.limit, old.err, licensor.DefaultConcurrencyLimit)
	}
	limit, _, err := f.svc.TenantLimits(context.Background(), f.tenantID)
	if err != nil || limit != lower {
		t.Errorf("limit after the update: got %d, %v; want %d", limit, err, lower)
	}
}

// A key fill that read the keys before a rotation must not put the old key
// set back: this server would sign with the retired key for a TTL.
func TestKeyCacheFillAfterRotation(t *testing.T) {
	f := newFixture(t)
	before, err := f.svc.tenantKeys(f.tenantCtx())
	if err != nil {
		t.Fatal(err)
	}
	f.svc.keys.delete(f.tenantID) // the next read fills again
	h := f.store.holdNext("ListSigningKeys")
	filled := make(chan error, 1)
	go func() {
		_, err := f.svc.tenantKeys(f.tenantCtx())
		filled <- err
	}()
	<-h.read
	rotated, err := f.svc.RotateSigningKey(f.admin, "", rotateNow)
	if err != nil {
		t.Fatalf("RotateSigningKey: %v", err)
	}
	close(h.release)
	if err := <-filled; err != nil {
		t.Fatalf("the held fill: %v", err)
	}
	after, err := f.svc.tenantKeys(f.tenantCtx())
	if err != nil {
		t.Fatal(err)
	}
	if got := after.signer.KeyID(); got != rotated.ID {
		t.Errorf("signing key after the rotation: got %s, want %s (the old one was %s)", got, rotated.ID, before.active.ID)
	}
	if _, ok := after.set[before.active.ID]; !ok {
		t.Errorf("the retired key %s: got it unpublished, want it still in the key set", before.active.ID)
	}
}

// rotateNow rotates a key that signs at once, as a test that is not about
// staged rotation wants.
var rotateNow = RotateOptions{ActivateAfter: new(time.Duration), Force: true}
