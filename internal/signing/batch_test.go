package signing

import (
	"bytes"
	"crypto/ed25519"
	"math/rand/v2"
	"testing"
)

// TestBatchMatchesEd25519 signs batches of every size with several keys
// mixed in one batch and messages of many lengths, and requires each
// signature to be exactly ed25519.Sign's (Ed25519 is deterministic) and to
// verify.
func TestBatchMatchesEd25519(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]ed25519.PrivateKey, 5)
	for i := range keys {
		seed := make([]byte, ed25519.SeedSize)
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	var b batch
	for round := range 40 {
		for n := 1; n <= maxBatch; n++ {
			jobs := make([]*signJob, n)
			for i := range jobs {
				msg := make([]byte, rng.IntN(1200))
				for j := range msg {
					msg[j] = byte(rng.Uint32())
				}
				jobs[i] = &signJob{priv: keys[rng.IntN(len(keys))], msg: msg, sig: make([]byte, ed25519.SignatureSize)}
			}
			b.signAll(jobs)
			for i, j := range jobs {
				want := ed25519.Sign(j.priv, j.msg)
				if !bytes.Equal(j.sig, want) {
					t.Fatalf("round %d, batch of %d, job %d: signature %x, ed25519.Sign gives %x", round, n, i, j.sig, want)
				}
				if !ed25519.Verify(j.priv.Public().(ed25519.PublicKey), j.msg, j.sig) {
					t.Fatalf("round %d, batch of %d, job %d: signature does not verify", round, n, i)
				}
			}
		}
	}
}

// TestWorkersSignConcurrently has more signers than workers, so workers
// take batches, and checks every signature against ed25519.Sign.
func TestWorkersSignConcurrently(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := NewSignWorkers(2)
	defer w.Close()
	const signers, each = 32, 50
	errs := make(chan error, signers)
	for g := range signers {
		go func() {
			for i := range each {
				msg := []byte{byte(g), byte(i), 'x'}
				sig := make([]byte, ed25519.SignatureSize)
				w.sign(sig, priv, msg)
				if !bytes.Equal(sig, ed25519.Sign(priv, msg)) {
					errs <- errMismatch
					return
				}
			}
			errs <- nil
		}()
	}
	for range signers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

var errMismatch = constError("a worker's signature differs from ed25519.Sign")

type constError string

func (e constError) Error() string { return string(e) }

func BenchmarkBatchSign(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(nil)
	msg := bytes.Repeat([]byte("a"), 600)
	for _, n := range []int{1, 2, 4, 8, 16} {
		b.Run("n="+string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			jobs := make([]*signJob, n)
			for i := range jobs {
				jobs[i] = &signJob{priv: priv, msg: msg, sig: make([]byte, ed25519.SignatureSize)}
			}
			var bt batch
			b.ReportAllocs()
			for b.Loop() {
				bt.signAll(jobs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/sig")
		})
	}
	b.Run("ed25519.Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
}
