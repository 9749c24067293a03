package license

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

// fuzzPriv is a fixed key, so that the seed corpus and anything the fuzzer
// saves under testdata/ keep their meaning from run to run.
var fuzzPriv = ed25519.NewKeyFromSeed([]byte("licensor fuzz key: fixed seed 32"))

// FuzzVerify checks that no input makes Verify panic, that every failure is
// a one-line *licensor.Error, and that success always comes with claims.
func FuzzVerify(f *testing.F) {
	s, err := signing.NewSigner("key_fuzz", fuzzPriv)
	if err != nil {
		f.Fatal(err)
	}
	keys := KeySet{"key_fuzz": fuzzPriv.Public().(ed25519.PublicKey)}
	good, err := s.SignLicense(testClaims())
	if err != nil {
		f.Fatal(err)
	}
	capToken, _ := s.SignCapability(map[string]any{"lease": "lea_1"})
	parts := strings.Split(good, ".")
	hdr := map[string]any{"alg": "EdDSA", "kid": "key_fuzz", "typ": licensor.LicenseType}
	for _, seed := range []string{
		good,
		capToken,
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		good[:len(good)/2],
		good + "." + parts[2],
		string(Armor(good)),
		craft(f, map[string]any{"alg": "none", "kid": "key_fuzz", "typ": licensor.LicenseType}, testClaims(), nil),
		craft(f, map[string]any{"alg": "HS256", "kid": "key_fuzz", "typ": licensor.LicenseType}, testClaims(), ed25519Signer(fuzzPriv)),
		craft(f, hdr, []any{nil, 1.5, "x"}, ed25519Signer(fuzzPriv)),
		craft(f, hdr, json.RawMessage(`{"features":{"a":1e400},"exp":1e400}`), ed25519Signer(fuzzPriv)),
		"", ".", "..", "...", "a.b.c", "e30.e30.", "eyJhbGciOiJFZERTQSJ9.e30.AA",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Verify(token, keys, VerifyOptions{Now: testNow})
		if err == nil {
			if c == nil {
				t.Fatalf("got nil claims and no error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted claims that do not validate: %v", err)
			}
			return
		}
		var le *licensor.Error
		if !errors.As(err, &le) {
			t.Fatalf("got %T %v, want *licensor.Error", err, err)
		}
		if le.Message == "" || strings.ContainsAny(le.Message, "\r\n") {
			t.Fatalf("got message %q, want one non-empty line", le.Message)
		}
		var out map[string]any
		_ = VerifyCapability(token, keys, &out)
	})
}

// FuzzVerifySigned signs whatever header and payload the fuzzer makes, so
// that the code behind the signature check (header rules, claims decoding)
// is explored too: FuzzVerify almost never gets past the signature.
func FuzzVerifySigned(f *testing.F) {
	keys := KeySet{"key_fuzz": fuzzPriv.Public().(ed25519.PublicKey)}
	claims, _ := json.Marshal(testClaims())
	f.Add([]byte(`{"alg":"EdDSA","kid":"key_fuzz","typ":"license+jwt"}`), claims)
	f.Add([]byte(`{"alg":"EdDSA","kid":"key_fuzz","typ":"license+jwt","crit":["x"]}`), claims)
	f.Add([]byte(`{"alg":"EdDSA","kid":"key_fuzz","typ":"license+jwt"}`), []byte(`{"features":{"a":1e400,"b":"x"},"exp":-1}`))
	f.Add([]byte(`{"alg":"EdDSA","kid":"key_fuzz","typ":"license+jwt"}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		token := input + "." + b64.EncodeToString(ed25519.Sign(fuzzPriv, []byte(input)))
		c, err := Verify(token, keys, VerifyOptions{Now: testNow})
		if err == nil {
			if c == nil {
				t.Fatalf("got nil claims and no error")
			}
			return
		}
		var le *licensor.Error
		if !errors.As(err, &le) || le.Message == "" || strings.ContainsAny(le.Message, "\r\n") {
			t.Fatalf("got %T %v, want a one-line *licensor.Error", err, err)
		}
	})
}

// FuzzDearmor checks that Dearmor never panics and that what it returns
// armors and dearmors back to itself.
func FuzzDearmor(f *testing.F) {
	s, _ := signing.NewSigner("key_fuzz", fuzzPriv)
	good, _ := s.SignLicense(testClaims())
	for _, seed := range []string{good, string(Armor(good)), string(Armor(good))[:100], "", licensor.ArmorBegin, licensor.ArmorEnd + licensor.ArmorBegin, "x\r\n" + string(Armor("a.b.c"))} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		token, err := Dearmor(data)
		if err != nil {
			return
		}
		again, err := Dearmor(Armor(token))
		if err != nil || again != token {
			t.Fatalf("Dearmor(Armor(%q)): got %q, %v, want the token back", token, again, err)
		}
	})
}
