package license

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

func TestJWKSRoundTrip(t *testing.T) {
	sealer := newTestSealer(t)
	var keys []*licensor.SigningKey
	var signers []*signing.Signer
	for i := 0; i < 2; i++ {
		k, priv, err := signing.NewSigningKey(sealer, "ten_1", testNow)
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(k.ID, priv)
		if err != nil {
			t.Fatal(err)
		}
		keys, signers = append(keys, k), append(signers, s)
	}
	data, err := MarshalJWKS(keys)
	if err != nil {
		t.Fatalf("MarshalJWKS: %v", err)
	}
	set, err := ParseJWKS(data)
	if err != nil {
		t.Fatalf("ParseJWKS(%s): %v", data, err)
	}
	if got, want := len(set), 2; got != want {
		t.Fatalf("got %d keys, want %d", got, want)
	}
	for i, k := range keys {
		if !set[k.ID].Equal(k.Public) {
			t.Errorf("key %s: got %x, want %x", k.ID, set[k.ID], k.Public)
		}
		token, err := signers[i].SignLicense(testClaims())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(token, set, VerifyOptions{Now: testNow.Add(time.Hour)}); err != nil {
			t.Errorf("verify with key %s from the JWKS: %v", k.ID, err)
		}
	}
}

func TestMarshalJWKS(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	k := &licensor.SigningKey{ID: "key_1", Public: pub}
	const wantJWK = `{"kty":"OKP","crv":"Ed25519","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik","kid":"key_1","alg":"EdDSA","use":"sig"}`
	got, err := PublicJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	if got != wantJWK {
		t.Errorf("PublicJWK: got %s, want %s", got, wantJWK)
	}
	tests := []struct {
		name string
		keys []*licensor.SigningKey
		want string // "" for an error
	}{
		{"None", nil, `{"keys":[]}`},
		{"One", []*licensor.SigningKey{k}, `{"keys":[` + wantJWK + `]}`},
		{"NilKey", []*licensor.SigningKey{nil}, ""},
		{"NoID", []*licensor.SigningKey{{Public: pub}}, ""},
		{"ShortPublic", []*licensor.SigningKey{{ID: "key_1", Public: pub[:31]}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarshalJWKS(tc.keys)
			if tc.want == "" {
				if err == nil {
					t.Errorf("got %s, want an error", got)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("got %s, %v, want %s", got, err, tc.want)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	x := b64.EncodeToString(pub)
	okp := func(kid string, extra string) string {
		return fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q,"kid":%q%s}`, x, kid, extra)
	}
	const rsa = `{"kty":"RSA","n":"0vx7","e":"AQAB","kid":"rsa1"}`
	tests := []struct {
		name string
		data string
		kids []string // the kids expected; nil for an error
		want string   // in the error message
	}{
		{"OnlyOKP", `{"keys":[` + okp("k1", "") + `]}`, []string{"k1"}, ""},
		{"SkipsRSA", `{"keys":[` + rsa + `,` + okp("k1", "") + `]}`, []string{"k1"}, ""},
		{"SkipsX25519", `{"keys":[{"kty":"OKP","crv":"X25519","x":"` + x + `","kid":"x1"},` + okp("k1", "") + `]}`, []string{"k1"}, ""},
		{"SkipsEncUse", `{"keys":[` + okp("k2", `,"use":"enc"`) + `,` + okp("k1", `,"use":"sig"`) + `]}`, []string{"k1"}, ""},
		{"AcceptsEd25519Alg", `{"keys":[` + okp("k1", `,"alg":"Ed25519"`) + `]}`, []string{"k1"}, ""},
		{"SkipsOtherAlg", `{"keys":[` + okp("k2", `,"alg":"ES256"`) + `,` + okp("k1", `,"alg":"EdDSA"`) + `]}`, []string{"k1"}, ""},
		{"OnlyRSA", `{"keys":[` + rsa + `]}`, nil, `no usable Ed25519 signing key (key 0 skipped: kty "RSA" is not OKP)`},
		{"Empty", `{"keys":[]}`, nil, "no usable Ed25519 signing key"},
		{"NoKeysArray", `{}`, nil, `no "keys" array`},
		{"NotJSON", `<html>`, nil, "not valid JSON"},
		{"KeyNotObject", `{"keys":[1]}`, nil, "key 0 is not a JWK object"},
		{"PrivateKey", `{"keys":[` + okp("k1", `,"d":"AAAA"`) + `]}`, nil, "contains a private key"},
		{"NoKid", `{"keys":[` + okp("", "") + `]}`, nil, "has no kid"},
		{"DuplicateKid", `{"keys":[` + okp("k1", "") + `,` + okp("k1", "") + `]}`, nil, `kid "k1" twice`},
		{"ShortX", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"k1"}]}`, nil, "x is not 32 bytes"},
		{"PaddedX", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `=","kid":"k1"}]}`, nil, "x is not 32 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := ParseJWKS([]byte(tc.data))
			if tc.kids == nil {
				checkErr(t, err, licensor.EINVALID, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if len(set) != len(tc.kids) {
				t.Errorf("got %d keys, want %d", len(set), len(tc.kids))
			}
			for _, kid := range tc.kids {
				if !set[kid].Equal(pub) {
					t.Errorf("kid %s: got %x, want %x", kid, set[kid], pub)
				}
			}
		})
	}
}

// TestJWKSIsJSON guards against a nil slice marshalling as null.
func TestJWKSIsJSON(t *testing.T) {
	data, err := MarshalJWKS([]*licensor.SigningKey{})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Keys []any }
	if err := json.Unmarshal(data, &v); err != nil || v.Keys == nil {
		t.Errorf("got %s (%v), want an empty keys array", data, err)
	}
}
