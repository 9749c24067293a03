package license

import (
	"crypto/ed25519"
	"testing"
)

// The verifying cost of the hot path, next to the raw Ed25519 operations
// it cannot go below. The signing side is measured in internal/signing.

func BenchmarkVerify(b *testing.B) {
	s, _, keys := newTestSigner(b, "key_bench")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		b.Fatal(err)
	}
	opts := VerifyOptions{Now: testNow}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(token, keys, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519(b *testing.B) {
	_, priv, keys := newTestSigner(b, "key_bench")
	msg := make([]byte, 400) // about the size of a license's signing input
	sig := ed25519.Sign(priv, msg)
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ed25519.Verify(keys["key_bench"], msg, sig)
		}
	})
}
