package license

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/licensor/licensor"
)

// The files of an offline activation (request and return) are compact JWS
// signed by the machine's own instance key, with that key's JWK thumbprint
// as kid. A request carries its public key in its payload; a return is
// checked against the key recorded when the request was answered. The
// verification is the one Verify uses (alg, typ, kid, the base64url
// alphabet), with a key set of one key.

// InstanceJWK returns pub as a JSON Web Key (RFC 8037).
func InstanceJWK(pub ed25519.PublicKey) licensor.JWK {
	return licensor.JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(pub)}
}

// Thumbprint returns the JWK SHA-256 thumbprint of pub (RFC 7638): the
// hash of the required members in lexical order, base64url. It is the
// "jkt" of a bound license's cnf claim and the kid of the files the key
// signs.
func Thumbprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(pub) + `"}`))
	return b64.EncodeToString(sum[:])
}

// KeyOf decodes a JWK into an Ed25519 public key.
func KeyOf(k licensor.JWK) (ed25519.PublicKey, error) {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, invalidf("key is kty %.16q crv %.16q; want an OKP Ed25519 key", k.Kty, k.Crv)
	}
	pub, err := b64.DecodeString(k.X)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, invalidf("key x is not %d bytes of base64url", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(pub), nil
}

// SignSelf signs payload (JSON-encoded) with priv as a compact JWS of
// type typ whose kid is the key's thumbprint.
func SignSelf(priv ed25519.PrivateKey, typ string, payload any) (string, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", licensor.Internal("encode "+typ, err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	hdr, _ := json.Marshal(map[string]string{"alg": licensor.LicenseAlg, "typ": typ, "kid": Thumbprint(pub)})
	signing := b64.EncodeToString(hdr) + "." + b64.EncodeToString(body)
	return signing + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(signing))), nil
}

// VerifyOfflineRequest checks a request token: its payload names an
// Ed25519 key whose thumbprint is the kid, the signature verifies with that
// key, and the request is complete (OfflineRequest.Validate). It returns
// the request and its key.
func VerifyOfflineRequest(token string) (*licensor.OfflineRequest, ed25519.PublicKey, error) {
	// The key is read from the unverified payload only to learn what to
	// check the signature with; nothing else of it is used before the
	// signature holds.
	dot1, dot2, err := splitCompact(token, "offline request")
	if err != nil {
		return nil, nil, err
	}
	raw, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return nil, nil, invalidf("offline request payload is not base64url")
	}
	var peek struct {
		Key licensor.JWK `json:"jwk"`
	}
	if err := json.Unmarshal(raw, &peek); err != nil {
		return nil, nil, invalidf("offline request payload is not a JSON object")
	}
	pub, err := KeyOf(peek.Key)
	if err != nil {
		return nil, nil, invalidf("offline request: %s", licensor.ErrorMessage(err))
	}
	payload, err := verifyJWS(token, KeySet{Thumbprint(pub): pub}, licensor.OfflineRequestType)
	if err != nil {
		return nil, nil, offlineErr("offline request", err)
	}
	var r licensor.OfflineRequest
	if err := decodePayload(payload, &r, "offline request"); err != nil {
		return nil, nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, nil, err
	}
	return &r, pub, nil
}

// VerifyOfflineReturn checks a return token against the instance key pub
// the license was bound to.
func VerifyOfflineReturn(token string, pub ed25519.PublicKey) (*licensor.OfflineReturn, error) {
	payload, err := verifyJWS(token, KeySet{Thumbprint(pub): pub}, licensor.OfflineReturnType)
	if err != nil {
		return nil, offlineErr("offline return", err)
	}
	var r licensor.OfflineReturn
	if err := decodePayload(payload, &r, "offline return"); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReturnedLicenseID reads the license id a return token names, without
// verifying it, so that the caller can find the activation and the key to
// verify it with (VerifyOfflineReturn). Nothing else is trusted from it.
func ReturnedLicenseID(token string) (string, error) {
	dot1, dot2, err := splitCompact(token, "offline return")
	if err != nil {
		return "", err
	}
	raw, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return "", invalidf("offline return payload is not base64url")
	}
	var peek struct {
		ID string `json:"jti"`
	}
	if err := json.Unmarshal(raw, &peek); err != nil {
		return "", invalidf("offline return payload is not a JSON object")
	}
	if err := licensor.ValidateID("offline return jti", peek.ID); err != nil {
		return "", err
	}
	return peek.ID, nil
}

// offlineErr rewords verifyJWS's "license" wording for the offline files.
func offlineErr(what string, err error) error {
	msg := licensor.ErrorMessage(err)
	msg = strings.ReplaceAll(msg, "token", what)
	return &licensor.Error{Code: licensor.ErrorCode(err), Message: msg, Err: err}
}

// ArmorLabel wraps a token between "-----BEGIN label-----" and
// "-----END label-----" lines, folded at 64 columns like a license file.
func ArmorLabel(label, token string) []byte {
	out := Armor(token)
	s := strings.Replace(string(out), licensor.ArmorBegin, "-----BEGIN "+label+"-----", 1)
	s = strings.Replace(s, licensor.ArmorEnd, "-----END "+label+"-----", 1)
	return []byte(s)
}

// DearmorLabel returns the token of a file armored with label, or of a bare
// compact JWS.
func DearmorLabel(label string, data []byte) (string, error) {
	begin, end := "-----BEGIN "+label+"-----", "-----END "+label+"-----"
	s := string(data)
	if strings.Contains(s, licensor.ArmorBegin) && label != "LICENSOR LICENSE" {
		return "", invalidf("this is a license file; want a %s file", strings.ToLower(label))
	}
	if !strings.Contains(s, begin) && strings.Contains(s, "-----BEGIN ") {
		return "", invalidf("not a %s file: want a %s block", strings.ToLower(label), begin)
	}
	s = strings.Replace(s, begin, licensor.ArmorBegin, 1)
	s = strings.Replace(s, end, licensor.ArmorEnd, 1)
	tok, err := Dearmor([]byte(s))
	if err != nil {
		return "", invalidf("%s", strings.ReplaceAll(licensor.ErrorMessage(err), "LICENSOR LICENSE", label))
	}
	return tok, nil
}
