package service

import (
	"testing"
	"time"
)

// A fill that read the store before an invalidation must not put the old
// value back: the revoked token it carries would authenticate for a TTL.
func TestTTLCacheFillAfterInvalidation(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name       string
		invalidate func(c *ttlCache[string])
		cached     bool
	}{
		{"NoInvalidation", func(*ttlCache[string]) {}, true},
		{"DeleteOfAnotherKey", func(c *ttlCache[string]) { c.delete("other") }, false},
		{"DeleteOfThisKey", func(c *ttlCache[string]) { c.delete("tok") }, false},
		{"DeleteFunc", func(c *ttlCache[string]) { c.deleteFunc(func(v string) bool { return v == "revoked" }) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTTLCache[string](2*time.Second, clock)
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
