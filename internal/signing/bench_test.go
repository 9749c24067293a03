package signing

import (
	"runtime"
	"testing"
)

// The signing cost of the hot path (the verifying side and the raw Ed25519
// operations are measured in license).

func BenchmarkSignLicense(b *testing.B) {
	s, _, _ := newTestSigner(b, "key_bench")
	c := testClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignLicense(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignLicenseParallel(b *testing.B) {
	s, _, _ := newTestSigner(b, "key_bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := testClaims()
		for pb.Next() {
			if _, err := s.SignLicense(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignHandler signs as a server does: each license on a new
// goroutine, whose small starting stack Ed25519 makes grow. "workers"
// hands the signature to SignWorkers instead.
func BenchmarkSignHandler(b *testing.B) {
	for _, tc := range []struct {
		name    string
		workers bool
	}{{"inline", false}, {"workers", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var opts []SignerOption
			if tc.workers {
				w := NewSignWorkers(runtime.GOMAXPROCS(0))
				defer w.Close()
				opts = append(opts, WithWorkers(w))
			}
			_, priv, _ := newTestSigner(b, "key_bench")
			s, err := NewSigner("key_bench", priv, opts...)
			if err != nil {
				b.Fatal(err)
			}
			c := testClaims()
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				done := make(chan error)
				for pb.Next() {
					go func() {
						_, err := s.SignLicense(c)
						done <- err
					}()
					if err := <-done; err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}
