package license

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func TestSignVerify(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatalf("SignLicense: %v", err)
	}
	c, err := Verify(token, keys, VerifyOptions{Now: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, want := c.Subject, "instance-1"; got != want {
		t.Errorf("got sub %q, want %q", got, want)
	}
	if _, ok := c.Features["solver"].(json.Number); !ok {
		t.Errorf("got solver as %T, want json.Number", c.Features["solver"])
	}
	for _, tc := range []struct {
		feature string
		count   int64
		allowed bool
	}{
		{"solver", 50, true},
		{"export", 1, true},
		{"missing", 0, false},
	} {
		if got := c.Count(tc.feature); got != tc.count {
			t.Errorf("Count(%q): got %d, want %d", tc.feature, got, tc.count)
		}
		if got := c.Allowed(tc.feature); got != tc.allowed {
			t.Errorf("Allowed(%q): got %v, want %v", tc.feature, got, tc.allowed)
		}
	}
	if got, want := s.KeyID(), "key_a"; got != want {
		t.Errorf("KeyID: got %q, want %q", got, want)
	}
}

// TestVerifyExactCounts guards the reason for json.Number: a count above
// 2^53 would be rounded as a float64.
func TestVerifyExactCounts(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	c := testClaims()
	const big = int64(1)<<53 + 1
	c.Features = map[string]any{"seats": big}
	token, err := s.SignLicense(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(token, keys, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Count("seats"); n != big {
		t.Errorf("got count %d, want %d", n, big)
	}
}

func TestVerifyTime(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	token, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	exp := testNow.Add(24 * time.Hour)
	tests := []struct {
		name string
		opts VerifyOptions
		code string // "" for success
		want string
	}{
		{"NoNow", VerifyOptions{}, "", ""},
		{"Valid", VerifyOptions{Now: testNow.Add(time.Hour)}, "", ""},
		{"ExpiredWithinSkew", VerifyOptions{Now: exp.Add(time.Minute)}, "", ""},
		{"Expired", VerifyOptions{Now: exp.Add(time.Hour)}, licensor.EPRECONDITION, "expired"},
		{"ExpiredNoSkew", VerifyOptions{Now: exp, Skew: -1}, licensor.EPRECONDITION, "expired"},
		{"ExpiredCustomSkew", VerifyOptions{Now: exp.Add(time.Hour), Skew: 2 * time.Hour}, "", ""},
		{"NotYetValid", VerifyOptions{Now: testNow.Add(-time.Hour)}, licensor.EINVALID, "not valid before"},
		{"NotYetValidWithinSkew", VerifyOptions{Now: testNow.Add(-time.Minute)}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(token, keys, tc.opts)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			checkErr(t, err, tc.code, tc.want)
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	const kid = "key_a"
	s, priv, keys := newTestSigner(t, kid)
	pub := keys[kid]
	good, err := s.SignLicense(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	hdr := map[string]any{"alg": "EdDSA", "kid": kid, "typ": licensor.LicenseType}
	with := func(k string, v any) map[string]any {
		h := map[string]any{}
		for k, v := range hdr {
			h[k] = v
		}
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	sign := ed25519Signer(priv)

	richer := testClaims()
	richer.Features["solver"] = 5000
	richerJSON, _ := json.Marshal(richer)

	foreign, _, _ := newTestSigner(t, kid)
	foreignToken, _ := foreign.SignLicense(testClaims())

	capToken, _ := s.SignCapability(map[string]any{"lease": "lea_1"})

	attackerPub, attackerPriv, _ := ed25519.GenerateKey(rand.Reader)
	hs256 := func(in []byte) []byte {
		m := hmac.New(sha256.New, pub)
		m.Write(in)
		return m.Sum(nil)
	}
	noSub := testClaims()
	noSub.Subject = ""

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}

	tests := []struct {
		name  string
		token string
		keys  KeySet
		want  string // in the message; the code is always EINVALID
	}{
		{"Empty", "", keys, "license is empty"},
		{"Garbage", "hello world", keys, "contains ' '"},
		{"TamperedPayload", parts[0] + "." + b64.EncodeToString(richerJSON) + "." + parts[2], keys, "signature does not verify"},
		{"TamperedSignature", parts[0] + "." + parts[1] + "." + flip(parts[2], 10), keys, "signature does not verify"},
		{"TamperedHeader", b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"key_a","typ":"license+jwt" }`)) + "." + parts[1] + "." + parts[2], keys, "signature does not verify"},
		{"TruncatedSignature", good[:len(good)-10], keys, "signature is malformed"},
		{"TruncatedToPayload", parts[0] + "." + parts[1], keys, "has 2 parts; want 3"},
		{"TruncatedToHeader", parts[0], keys, "has 1 part; want 3"},
		{"ExtraPart", good + ".x", keys, "has 4 parts"},
		{"EmptyPayload", parts[0] + ".." + parts[2], keys, "empty header or payload"},
		{"Newline", parts[0] + ".\n" + parts[1] + "." + parts[2], keys, `contains '\n'`},
		{"Armored", string(Armor(good)), keys, "Dearmor"},
		{"ForeignKeySameKid", foreignToken, keys, "signature does not verify"},
		{"UnknownKid", good, KeySet{"key_b": pub}, `unknown signing key id "key_a"`},
		{"NoKeys", good, nil, "unknown signing key id"},
		{"ShortPublicKey", good, KeySet{kid: pub[:16]}, "16 bytes"},
		{"AlgNone", craft(t, with("alg", "none"), testClaims(), nil), keys, `alg "none" (unsigned)`},
		{"AlgNoneUpper", craft(t, with("alg", "NONE"), testClaims(), nil), keys, `alg "NONE" (unsigned)`},
		{"AlgHS256", craft(t, with("alg", "HS256"), testClaims(), hs256), keys, `alg "HS256"`},
		{"AlgES256", craft(t, with("alg", "ES256"), testClaims(), sign), keys, `alg "ES256"`},
		{"AlgEd25519", craft(t, with("alg", "Ed25519"), testClaims(), sign), keys, `alg "Ed25519"`},
		{"AlgMissing", craft(t, with("alg", nil), testClaims(), sign), keys, "no alg"},
		{"AlgNotString", craft(t, with("alg", 1), testClaims(), sign), keys, `"alg" is not a string`},
		{"AlgUpperCaseName", craft(t, map[string]any{"ALG": "EdDSA", "kid": kid, "typ": licensor.LicenseType}, testClaims(), sign), keys, "no alg"},
		{"WrongTyp", capToken, keys, `typ "capability+jwt"; want "license+jwt"`},
		{"NoTyp", craft(t, with("typ", nil), testClaims(), sign), keys, "no typ"},
		{"JWTTyp", craft(t, with("typ", "JWT"), testClaims(), sign), keys, `typ "JWT"`},
		{"MissingKid", craft(t, with("kid", nil), testClaims(), sign), keys, "no kid"},
		{"EmptyKid", craft(t, with("kid", ""), testClaims(), sign), keys, "no kid"},
		{"Crit", craft(t, with("crit", []string{"exp"}), testClaims(), sign), keys, `"crit"`},
		{"EmbeddedJWK", craft(t, with("jwk", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(attackerPub)}), testClaims(), ed25519Signer(attackerPriv)), keys, `"jwk"`},
		{"JKU", craft(t, with("jku", "https://evil.example/jwks.json"), testClaims(), sign), keys, `"jku"`},
		{"X5U", craft(t, with("x5u", "https://evil.example/cert.pem"), testClaims(), sign), keys, `"x5u"`},
		{"HeaderNotObject", craft(t, "EdDSA", testClaims(), sign), keys, "header is not a JSON object"},
		{"HeaderNotBase64", "eyJ!" + "." + parts[1] + "." + parts[2], keys, "contains '!'"},
		{"PayloadNotObject", craft(t, hdr, []int{1}, sign), keys, "payload is not a JSON object"},
		{"PayloadTrailingData", craft(t, hdr, json.RawMessage(`{"iss":"a"} {}`), sign), keys, "data after"},
		{"PayloadBadType", craft(t, hdr, map[string]any{"exp": "tomorrow"}, sign), keys, "claims are malformed"},
		{"ClaimsIncomplete", craft(t, hdr, noSub, sign), keys, "no sub"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Verify(tc.token, tc.keys, VerifyOptions{Now: testNow})
			if c != nil {
				t.Errorf("got claims %+v, want nil", c)
			}
			checkErr(t, err, licensor.EINVALID, tc.want)
		})
	}
}

func TestCapability(t *testing.T) {
	s, _, keys := newTestSigner(t, "key_a")
	type lease struct {
		Lease string         `json:"lease"`
		Units map[string]any `json:"units"`
		Exp   int64          `json:"exp"`
	}
	token, err := s.SignCapability(lease{Lease: "lea_1", Units: map[string]any{"solver": 3}, Exp: 42})
	if err != nil {
		t.Fatal(err)
	}
	var got lease
	if err := VerifyCapability(token, keys, &got); err != nil {
		t.Fatalf("VerifyCapability: %v", err)
	}
	if got.Lease != "lea_1" || got.Exp != 42 || got.Units["solver"] != json.Number("3") {
		t.Errorf("got %+v, want lease lea_1, exp 42, solver 3", got)
	}
	if _, err := Verify(token, keys, VerifyOptions{Type: licensor.CapabilityType}); err == nil {
		t.Errorf("Verify of a capability as license claims: got no error, want claims validation error")
	}

	t.Run("LicenseAsCapability", func(t *testing.T) {
		lic, err := s.SignLicense(testClaims())
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		checkErr(t, VerifyCapability(lic, keys, &out), licensor.EINVALID, `typ "license+jwt"; want "capability+jwt"`)
	})
	t.Run("NotAnObject", func(t *testing.T) {
		_, err := s.SignCapability([]int{1})
		checkErr(t, err, licensor.EINVALID, "JSON object")
	})
	t.Run("NilOut", func(t *testing.T) {
		if got := licensor.ErrorCode(VerifyCapability(token, keys, nil)); got != licensor.EINTERNAL {
			t.Errorf("got code %q, want %q", got, licensor.EINTERNAL)
		}
	})
}
