package license

import (
	"bytes"
	"crypto/ed25519"
	"sort"
	"testing"

	"github.com/licensor/licensor"
)

// FuzzParseJWKS: ParseJWKS never panics, returns only well-formed Ed25519
// keys with a kid, and what it returns published again (MarshalJWKS) parses
// back to the same set. Seeds: testdata/fuzz/FuzzParseJWKS and below.
func FuzzParseJWKS(f *testing.F) {
	pub := fuzzPriv.Public().(ed25519.PublicKey)
	good, _ := MarshalJWKS([]*licensor.SigningKey{{ID: "key_a", Public: pub}})
	for _, seed := range []string{
		string(good), `{"keys":[]}`, `{}`, `[]`, `null`, "",
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA","use":"sig"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","d":"AA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"},{"kty":"OKP","crv":"X25519","x":"AA"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA","kid":"short"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseJWKS(data)
		if err != nil {
			if keys != nil {
				t.Fatalf("ParseJWKS: got keys %v with error %v", keys, err)
			}
			if licensor.ErrorCode(err) != licensor.EINVALID {
				t.Fatalf("ParseJWKS: got %v, want an %s error", err, licensor.EINVALID)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("ParseJWKS: no keys and no error")
		}
		var sks []*licensor.SigningKey
		for kid, k := range keys {
			if kid == "" || len(k) != ed25519.PublicKeySize {
				t.Fatalf("ParseJWKS: key %q of %d bytes", kid, len(k))
			}
			sks = append(sks, &licensor.SigningKey{ID: kid, Public: k})
		}
		sort.Slice(sks, func(i, j int) bool { return sks[i].ID < sks[j].ID })
		out, err := MarshalJWKS(sks)
		if err != nil {
			t.Fatalf("MarshalJWKS of parsed keys: %v", err)
		}
		again, err := ParseJWKS(out)
		if err != nil || len(again) != len(keys) {
			t.Fatalf("ParseJWKS(MarshalJWKS(...)): got %d keys, %v; want %d", len(again), err, len(keys))
		}
		for kid, k := range keys {
			if !bytes.Equal(again[kid], k) {
				t.Fatalf("round trip changed key %q", kid)
			}
		}
	})
}
