package service

import (
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// TestKeyCacheEndsAtActivation: a server that cached the tenant's keys
// switches to the staged key at its activation instant, not a cache TTL
// later, and publishes it from the rotation on.
func TestKeyCacheEndsAtActivation(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.contract(licensor.Contract{RefreshInterval: time.Hour})
	before, err := f.license(ctx, c, "node-1", "")
	if err != nil {
		t.Fatal(err)
	}
	after := 30 * time.Second // shorter than the key cache's minute
	k, err := f.svc.RotateSigningKey(f.admin, "", RotateOptions{ActivateAfter: &after, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.svc.KeySet(f.tenantCtx())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set[k.ID]; !ok {
		t.Errorf("the staged key is not published right after the rotation")
	}
	for _, tc := range []struct {
		advance time.Duration
		want    string
	}{{after - time.Second, before.KeyID}, {time.Second, k.ID}} {
		f.clock.Advance(tc.advance)
		l, err := f.license(ctx, c, "node-1", "")
		if err != nil {
			t.Fatal(err)
		}
		if l.KeyID != tc.want {
			t.Errorf("%s after the rotation: signed by %s, want %s", f.clock.Now().Sub(start), l.KeyID, tc.want)
		}
	}
}
