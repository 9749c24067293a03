package license

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/licensor/licensor"
)

// maxTokenLen bounds what Verify will look at. A license with the maximum
// number of features is a few tens of kilobytes; anything far larger is not
// one of ours and is refused before any decoding.
const maxTokenLen = 256 << 10

// b64 is the JWS encoding: base64url without padding. Strict, so that one
// signature has exactly one spelling and a token cannot be altered without
// breaking it.
var b64 = base64.RawURLEncoding.Strict()

// sigLen is the length of an encoded Ed25519 signature.
var sigLen = b64.EncodedLen(ed25519.SignatureSize)

// KeySet maps a key id (the JWS "kid") to the public key it names.
type KeySet map[string]ed25519.PublicKey

// VerifyOptions say what Verify expects besides a good signature.
type VerifyOptions struct {
	// Type is the expected "typ" header; "" means licensor.LicenseType.
	Type string
	// Now, if set, is the time at which nbf and exp are checked.
	Now time.Time
	// Skew is the clock skew allowed when Now is set: 0 means
	// licensor.DefaultClockSkew and a negative value means none.
	Skew time.Duration
}

// Verify checks a license in compact JWS serialization against keys and
// returns its claims. It accepts only alg EdDSA, the expected typ, and a
// kid found in keys; it refuses "crit" and keys carried in the token. The
// payload is decoded with json.Number so that feature counts stay exact,
// then checked with Claims.Validate and, if opts.Now is set, CheckTime.
//
// Errors are *licensor.Error with code EINVALID, except an expired license,
// which keeps the code CheckTime gives it.
func Verify(token string, keys KeySet, opts VerifyOptions) (*licensor.Claims, error) {
	typ := opts.Type
	if typ == "" {
		typ = licensor.LicenseType
	}
	payload, err := verifyJWS(token, keys, typ)
	if err != nil {
		return nil, err
	}
	var c licensor.Claims
	if err := decodePayload(payload, &c, noun(typ)); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, &licensor.Error{Code: licensor.EINVALID, Message: err.Error(), Err: err}
	}
	if !opts.Now.IsZero() {
		skew := opts.Skew
		if skew == 0 {
			skew = licensor.DefaultClockSkew
		} else if skew < 0 {
			skew = 0
		}
		if err := c.CheckTime(opts.Now, skew); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// VerifyCapability checks a token of typ capability+jwt as Verify does and
// decodes its payload into out, which must be a pointer. Checking the
// claims themselves, times included, is the caller's part.
func VerifyCapability(token string, keys KeySet, out any) error {
	payload, err := verifyJWS(token, keys, licensor.CapabilityType)
	if err != nil {
		return err
	}
	return decodePayload(payload, out, noun(licensor.CapabilityType))
}

// verifyJWS checks everything but the claims and returns the decoded
// payload. Nothing in the payload is looked at before the signature over it
// has been checked.
func verifyJWS(token string, keys KeySet, typ string) ([]byte, error) {
	what := noun(typ)
	if token == "" {
		return nil, invalidf("%s is empty", what)
	}
	if len(token) > maxTokenLen {
		return nil, invalidf("%s is %d bytes; the limit is %d", what, len(token), maxTokenLen)
	}
	dot1, dot2, err := splitCompact(token, what)
	if err != nil {
		if strings.Contains(token, licensor.ArmorBegin) {
			return nil, invalidf("%s is an armored license file; read the token out of it with Dearmor first", what)
		}
		return nil, err
	}
	hdrJSON, err := b64.DecodeString(token[:dot1])
	if err != nil {
		return nil, invalidf("%s header is not base64url: %v", what, err)
	}
	kid, err := checkHeader(hdrJSON, typ, what)
	if err != nil {
		return nil, err
	}
	pub, ok := keys[kid]
	if !ok {
		return nil, invalidf("unknown signing key id %.80q: the %s was signed by a key not in this key set (fetch the tenant's current JWKS, or check the tenant)", kid, what)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, invalidf("signing key %.80q in the key set is %d bytes; want an Ed25519 public key of %d", kid, len(pub), ed25519.PublicKeySize)
	}
	sig, err := b64.DecodeString(token[dot2+1:])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, invalidf("%s signature is malformed: want %d base64url characters", what, sigLen)
	}
	if !ed25519.Verify(pub, []byte(token[:dot2]), sig) {
		return nil, invalidf("%s signature does not verify with key %.80q: the %s was altered or signed by another key", what, kid, what)
	}
	payload, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return nil, invalidf("%s payload is not base64url: %v", what, err)
	}
	return payload, nil
}

// splitCompact finds the two dots of header.payload.signature and refuses
// any byte outside the base64url alphabet. The alphabet check matters:
// encoding/base64 silently skips CR and LF, which would let one signature
// stand for many different strings.
func splitCompact(token, what string) (dot1, dot2 int, err error) {
	dot1, dot2 = -1, -1
	dots := 0
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case c == '.':
			dots++
			if dots == 1 {
				dot1 = i
			} else if dots == 2 {
				dot2 = i
			}
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return 0, 0, invalidf("%s contains %q at offset %d: a compact JWS has only base64url characters and two dots", what, rune(c), i)
		}
	}
	if dots != 2 {
		parts := "parts"
		if dots == 0 {
			parts = "part"
		}
		return 0, 0, invalidf("%s has %d %s; want 3 (header.payload.signature): it is truncated or not a JWS", what, dots+1, parts)
	}
	// An empty signature is left for the caller to refuse, after the
	// header: "alg":"none" tokens have one, and deserve a message naming
	// the alg.
	if dot1 == 0 || dot2 == dot1+1 {
		return 0, 0, invalidf("%s has an empty header or payload; want header.payload.signature: it is truncated or not a JWS", what)
	}
	return dot1, dot2, nil
}

// forbiddenHeaders are header parameters that make a verifier trust a key
// named by the token itself, or that demand extensions we do not
// implement. A license's key comes from the tenant's key set, nowhere else.
var forbiddenHeaders = []string{"crit", "jwk", "jku", "x5u", "x5c", "b64"}

// checkHeader checks the protected header and returns its kid. Names are
// matched exactly: encoding/json's case-insensitive struct matching would
// let {"ALG":..} pass for alg, so the header is decoded into a map.
func checkHeader(hdrJSON []byte, typ, what string) (string, error) {
	var h map[string]json.RawMessage
	if err := json.Unmarshal(hdrJSON, &h); err != nil || h == nil {
		return "", invalidf("%s header is not a JSON object", what)
	}
	alg, err := headerString(h, "alg", what)
	if err != nil {
		return "", err
	}
	switch alg {
	case licensor.LicenseAlg:
	case "":
		return "", invalidf("%s header has no alg; only %s is accepted", what, licensor.LicenseAlg)
	default:
		if strings.EqualFold(alg, "none") {
			return "", invalidf("%s has alg %q (unsigned); only %s is accepted", what, alg, licensor.LicenseAlg)
		}
		return "", invalidf("%s has alg %.32q; only %s is accepted", what, alg, licensor.LicenseAlg)
	}
	for _, name := range forbiddenHeaders {
		if _, ok := h[name]; ok {
			return "", invalidf("%s header has %q, which is never accepted: keys come from the tenant's key set and no extensions are supported", what, name)
		}
	}
	gotTyp, err := headerString(h, "typ", what)
	if err != nil {
		return "", err
	}
	if gotTyp != typ {
		if gotTyp == "" {
			return "", invalidf("%s header has no typ; want %q", what, typ)
		}
		return "", invalidf("token has typ %.40q; want %q (is this a %s?)", gotTyp, typ, what)
	}
	kid, err := headerString(h, "kid", what)
	if err != nil {
		return "", err
	}
	if kid == "" {
		return "", invalidf("%s header has no kid, so there is no telling which signing key to check it with", what)
	}
	return kid, nil
}

// headerString returns a string header parameter, "" if absent.
func headerString(h map[string]json.RawMessage, name, what string) (string, error) {
	raw, ok := h[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalidf("%s header %q is not a string", what, name)
	}
	return s, nil
}

// decodePayload decodes a JSON object into out, numbers as json.Number.
func decodePayload(payload []byte, out any, what string) error {
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) == 0 || p[0] != '{' {
		return invalidf("%s payload is not a JSON object", what)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		var ie *json.InvalidUnmarshalError
		if errors.As(err, &ie) {
			return licensor.Internal("decode "+what, err)
		}
		return &licensor.Error{Code: licensor.EINVALID, Message: what + " claims are malformed: " + strings.TrimPrefix(err.Error(), "json: "), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidf("%s payload has data after its JSON object", what)
	}
	return nil
}

// noun names a token by its type in messages, so a person reads "license
// signature does not verify" rather than a JOSE term.
func noun(typ string) string {
	switch typ {
	case licensor.LicenseType:
		return "license"
	case licensor.CapabilityType:
		return "capability"
	}
	return "token"
}

func invalidf(format string, args ...any) *licensor.Error {
	return licensor.Errorf(licensor.EINVALID, format, args...)
}
