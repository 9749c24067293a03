package signing

import (
	"sync"
	"testing"

	"github.com/licensor/licensor/license"
)

// TestSignWorkers: a token signed on the workers is the token signed
// inline (Ed25519 is deterministic), from many goroutines at once, and
// signing goes on after Close.
func TestSignWorkers(t *testing.T) {
	_, priv, keys := newTestSigner(t, "key_w")
	inline, err := NewSigner("key_w", priv)
	if err != nil {
		t.Fatal(err)
	}
	w := NewSignWorkers(2)
	pooled, err := NewSigner("key_w", priv, WithWorkers(w))
	if err != nil {
		t.Fatal(err)
	}
	c := testClaims()
	want, err := inline.SignLicense(c)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 64 {
		wg.Go(func() {
			got, err := pooled.SignLicense(c)
			if err != nil || got != want {
				errs <- "worker-signed token differs from the inline one: " + got
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if _, err := license.Verify(want, keys, license.VerifyOptions{Now: testNow}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	w.Close()
	w.Close() // twice is harmless
	got, err := pooled.SignLicense(c)
	if err != nil || got != want {
		t.Fatalf("after Close: %q, %v; want the same token", got, err)
	}
	var none *SignWorkers
	none.Close()
}
