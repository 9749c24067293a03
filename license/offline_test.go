package license

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/licensor/licensor"
)

// TestThumbprintRFC8037: the JWK thumbprint of RFC 8037 appendix A.3.
func TestThumbprintRFC8037(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Thumbprint(ed25519.PublicKey(x)), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("Thumbprint: got %s, want %s", got, want)
	}
}

func testRequest(pub ed25519.PublicKey) licensor.OfflineRequest {
	return licensor.OfflineRequest{Tenant: "ten_1", Instance: "air-1", Contract: "con_1", Product: "prd_1",
		Fingerprint: "fp-0123456789abcdef", Key: InstanceJWK(pub), Nonce: "nonce-0123456789abcdefghij", IssuedAt: 1_700_000_000}
}

func TestVerifyOfflineRequest(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	good, err := SignSelf(priv, licensor.OfflineRequestType, testRequest(pub))
	if err != nil {
		t.Fatal(err)
	}
	r, gotPub, err := VerifyOfflineRequest(good)
	if err != nil || r.Instance != "air-1" || !gotPub.Equal(pub) {
		t.Fatalf("VerifyOfflineRequest: got %+v, %v", r, err)
	}
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	swapped := testRequest(otherPub) // claims another key than the one that signs
	swappedTok, _ := SignSelf(priv, licensor.OfflineRequestType, swapped)
	asReturn, _ := SignSelf(priv, licensor.OfflineReturnType, testRequest(pub))
	incomplete := testRequest(pub)
	incomplete.Nonce = "short"
	incompleteTok, _ := SignSelf(priv, licensor.OfflineRequestType, incomplete)
	parts := strings.Split(good, ".")
	sigOther := ed25519.Sign(otherPriv, []byte(parts[0]+"."+parts[1]))
	for _, tt := range []struct{ name, token, want string }{
		{"AlteredSignature", parts[0] + "." + parts[1] + "." + b64.EncodeToString(sigOther), "does not verify"},
		{"KeyNotTheSigner", swappedTok, "unknown signing key id"},
		{"WrongType", asReturn, "want \"offline-request+jwt\""},
		{"Incomplete", incompleteTok, "request nonce"},
		{"NotAJWS", "hello", "want 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := VerifyOfflineRequest(tt.token)
			if licensor.ErrorCode(err) != licensor.EINVALID || !strings.Contains(licensor.ErrorMessage(err), tt.want) {
				t.Errorf("got %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

func TestVerifyOfflineReturn(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ret := licensor.OfflineReturn{LicenseID: "lic_1", Instance: "air-1", Contract: "con_1", IssuedAt: 1_700_000_000}
	tok, err := SignSelf(priv, licensor.OfflineReturnType, ret)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := ReturnedLicenseID(tok); err != nil || id != "lic_1" {
		t.Errorf("ReturnedLicenseID: got %q, %v", id, err)
	}
	if got, err := VerifyOfflineReturn(tok, pub); err != nil || *got != ret {
		t.Errorf("VerifyOfflineReturn with the bound key: got %+v, %v", got, err)
	}
	if _, err := VerifyOfflineReturn(tok, otherPub); licensor.ErrorCode(err) != licensor.EINVALID {
		t.Errorf("VerifyOfflineReturn with another key: got %v, want EINVALID", err)
	}
}

func TestArmorLabel(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok, _ := SignSelf(priv, licensor.OfflineRequestType, testRequest(pub))
	file := ArmorLabel(licensor.OfflineRequestLabel, tok)
	if got, err := DearmorLabel(licensor.OfflineRequestLabel, file); err != nil || got != tok {
		t.Errorf("round trip: got %q, %v", got, err)
	}
	if got, err := DearmorLabel(licensor.OfflineRequestLabel, []byte("  "+tok+"\n")); err != nil || got != tok {
		t.Errorf("bare token: got %q, %v", got, err)
	}
	if _, err := DearmorLabel(licensor.OfflineReturnLabel, file); err == nil || !strings.Contains(err.Error(), "not a licensor offline return file") {
		t.Errorf("a request read as a return: got %v", err)
	}
	if _, err := DearmorLabel(licensor.OfflineRequestLabel, Armor(tok)); err == nil || !strings.Contains(err.Error(), "license file") {
		t.Errorf("a license file read as a request: got %v", err)
	}
}

// FuzzVerifyOfflineRequest: a request file comes from outside; whatever it
// holds, reading it never panics, and anything accepted verifies with the
// key it carries and is complete.
func FuzzVerifyOfflineRequest(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	good, _ := SignSelf(priv, licensor.OfflineRequestType, testRequest(pub))
	f.Add(good)
	f.Add(string(ArmorLabel(licensor.OfflineRequestLabel, good)))
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("e30.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := DearmorLabel(licensor.OfflineRequestLabel, []byte(s))
		if err != nil {
			return
		}
		r, key, err := VerifyOfflineRequest(tok)
		if err != nil {
			if licensor.ErrorCode(err) != licensor.EINVALID {
				t.Fatalf("refusal with code %q, want invalid: %v", licensor.ErrorCode(err), err)
			}
			return
		}
		if r.Validate() != nil || Thumbprint(key) == "" || len(key) != ed25519.PublicKeySize {
			t.Fatalf("accepted an incomplete request: %+v", r)
		}
		if _, err := ReturnedLicenseID(tok); err != nil && licensor.ErrorCode(err) != licensor.EINVALID {
			t.Fatalf("ReturnedLicenseID: code %q", licensor.ErrorCode(err))
		}
	})
}
