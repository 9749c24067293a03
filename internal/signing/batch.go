package signing

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"hash"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// maxBatch bounds how many signatures a worker computes together.
const maxBatch = 16

// batch holds the state of up to maxBatch Ed25519 signatures computed
// together. Each signature is RFC 8032's, byte for byte what
// ed25519.Sign returns (signatures are deterministic; the tests compare
// them). What is shared: encoding a signature's commitment R = r·B takes
// a field inversion (1/Z of the point's projective coordinates), about a
// quarter of a signature's cost; a batch inverts all its Zs with one
// inversion and three multiplications each (Montgomery's trick).
//
// A batch is owned by one worker goroutine and reused; it allocates
// nothing once its slices have grown.
type batch struct {
	r, s   [maxBatch]edwards25519.Scalar
	points [maxBatch]edwards25519.Point
	acc    [maxBatch]field.Element // prefix products of the Zs
	digest [sha512.Size]byte
	h      hash.Hash // SHA-512, reset for each use

	// The last key expanded: its seed, secret scalar and nonce prefix
	// (a server signs with one key, so each signature need not hash
	// the seed again).
	seed   [ed25519.SeedSize]byte
	key    edwards25519.Scalar
	prefix [32]byte
	hasKey bool
}

// signAll writes each job's signature into its sig.
func (b *batch) signAll(jobs []*signJob) {
	n := len(jobs)
	for i, j := range jobs {
		b.commit(i, j.priv, j.msg)
	}
	// acc[i] = Z0·Z1·…·Zi
	for i := range n {
		_, _, z, _ := b.points[i].ExtendedCoordinates()
		if i == 0 {
			b.acc[0].Set(z)
		} else {
			b.acc[i].Multiply(&b.acc[i-1], z)
		}
	}
	var inv, zInv, x, y field.Element
	inv.Invert(&b.acc[n-1]) // 1/(Z0·…·Zn-1)
	for i := n - 1; i >= 0; i-- {
		px, py, z, _ := b.points[i].ExtendedCoordinates()
		if i > 0 {
			zInv.Multiply(&inv, &b.acc[i-1]) // 1/Zi
			inv.Multiply(&inv, z)            // 1/(Z0·…·Zi-1)
		} else {
			zInv.Set(&inv)
		}
		x.Multiply(px, &zInv)
		y.Multiply(py, &zInv)
		sig := jobs[i].sig
		copy(sig[:32], y.Bytes())
		sig[31] |= byte(x.IsNegative() << 7)
		b.finish(i, jobs[i].priv, jobs[i].msg, sig)
	}
}

// commit computes job i's secret scalar s, its nonce r = H(prefix‖msg)
// and its commitment r·B, left unencoded for the batch inversion.
func (b *batch) commit(i int, priv ed25519.PrivateKey, msg []byte) {
	if !b.hasKey || subtle.ConstantTimeCompare(b.seed[:], priv[:ed25519.SeedSize]) != 1 {
		h := sha512.Sum512(priv[:ed25519.SeedSize])
		// Clamping a 32-byte input cannot fail, nor can reducing 64 bytes.
		_, _ = b.key.SetBytesWithClamping(h[:32])
		copy(b.prefix[:], h[32:])
		copy(b.seed[:], priv[:ed25519.SeedSize])
		b.hasKey = true
	}
	b.s[i] = b.key
	d := b.sha()
	d.Write(b.prefix[:])
	d.Write(msg)
	_, _ = b.r[i].SetUniformBytes(d.Sum(b.digest[:0]))
	b.points[i].ScalarBaseMult(&b.r[i])
}

// finish computes S = H(R‖A‖msg)·s + r into sig[32:], R being in sig[:32].
func (b *batch) finish(i int, priv ed25519.PrivateKey, msg, sig []byte) {
	d := b.sha()
	d.Write(sig[:32])
	d.Write(priv[ed25519.SeedSize:])
	d.Write(msg)
	var k, s edwards25519.Scalar
	_, _ = k.SetUniformBytes(d.Sum(b.digest[:0]))
	s.MultiplyAdd(&k, &b.s[i], &b.r[i])
	copy(sig[32:], s.Bytes())
}

func (b *batch) sha() hash.Hash {
	if b.h == nil {
		b.h = sha512.New()
	}
	b.h.Reset()
	return b.h
}
