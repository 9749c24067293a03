"""Offline verification of Licensor licenses: a compact JWS, alg EdDSA
(Ed25519), typ license+jwt, signed by a key of the tenant's JWKS.

The checks are those of the Go library's license.Verify: only EdDSA, the
expected typ, a kid found in the key set, no key carried in the token, no
"crit", strict base64url, complete claims, then nbf and exp against the
clock given.
"""

import base64
import binascii
import json
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import LicensorError

LICENSE_TYPE = "license+jwt"
CAPABILITY_TYPE = "capability+jwt"
ARMOR_BEGIN = "-----BEGIN LICENSOR LICENSE-----"
ARMOR_END = "-----END LICENSOR LICENSE-----"
DEFAULT_SKEW = 120.0  # seconds allowed on nbf and exp

_MAX_TOKEN = 256 << 10
_COMPACT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_FORBIDDEN_HEADERS = ("crit", "jwk", "jku", "x5u", "x5c", "b64")


def _invalid(message):
    return LicensorError("invalid", message, stage="verify")


def b64decode(s):
    """Strict base64url without padding: one signature has one spelling."""
    if "=" in s or len(s) % 4 == 1:
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != s:
        raise ValueError("non-canonical base64url")
    return raw


def parse_jwks(data):
    """Read a JWK Set (bytes, str or dict) and return {kid: Ed25519PublicKey}.

    Keys of another type, curve, use or alg are skipped; a private key in the
    set, a duplicate kid or a set with no usable key is an error.
    """
    try:
        s = json.loads(data) if isinstance(data, (bytes, str)) else data
    except ValueError as e:
        raise _invalid("JWKS is not valid JSON: %s" % e)
    if not isinstance(s, dict) or not isinstance(s.get("keys"), list):
        raise _invalid('JWKS has no "keys" array')
    keys = {}
    for i, k in enumerate(s["keys"]):
        if not isinstance(k, dict):
            raise _invalid("JWKS key %d is not a JWK object" % i)
        if k.get("kty") != "OKP" or k.get("crv") != "Ed25519":
            continue
        if k.get("use", "sig") != "sig" or k.get("alg", "EdDSA") not in ("EdDSA", "Ed25519"):
            continue
        kid = k.get("kid")
        if "d" in k:
            raise _invalid("JWKS key %r contains a private key (\"d\"): a JWKS must hold public keys only" % kid)
        if not kid or not isinstance(kid, str):
            raise _invalid("JWKS key %d (Ed25519) has no kid" % i)
        try:
            raw = b64decode(k.get("x", ""))
        except (ValueError, binascii.Error, TypeError):
            raw = b""
        if len(raw) != 32:
            raise _invalid("JWKS key %r: x is not 32 bytes of base64url" % kid)
        if kid in keys:
            raise _invalid("JWKS lists kid %r twice" % kid)
        keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
    if not keys:
        raise _invalid("JWKS has no usable Ed25519 signing key")
    return keys


def dearmor(text):
    """Return the JWS of a static license file (armored or bare)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    if ARMOR_BEGIN in text:
        start = text.index(ARMOR_BEGIN) + len(ARMOR_BEGIN)
        end = text.find(ARMOR_END, start)
        if end < 0:
            raise _invalid("license file has %s but no %s" % (ARMOR_BEGIN, ARMOR_END))
        text = "".join(text[start:end].split())
    return text


def _noun(typ):
    return {LICENSE_TYPE: "license", CAPABILITY_TYPE: "capability"}.get(typ, "token")


def verify_jws(token, keys, typ=LICENSE_TYPE):
    """Check the signature and header of token; return the decoded payload (dict)."""
    what = _noun(typ)
    if not token:
        raise _invalid("%s is empty" % what)
    if len(token) > _MAX_TOKEN:
        raise _invalid("%s is %d bytes; the limit is %d" % (what, len(token), _MAX_TOKEN))
    if not _COMPACT.match(token):
        if ARMOR_BEGIN in token:
            raise _invalid("%s is an armored license file; read the token out of it with dearmor first" % what)
        raise _invalid("%s is not a compact JWS (header.payload.signature of base64url)" % what)
    h64, p64, s64 = token.split(".")
    try:
        header = json.loads(b64decode(h64))
    except (ValueError, binascii.Error):
        raise _invalid("%s header is not base64url JSON" % what)
    if not isinstance(header, dict):
        raise _invalid("%s header is not a JSON object" % what)
    alg = header.get("alg")
    if alg != "EdDSA":
        raise _invalid("%s has alg %r; only EdDSA is accepted" % (what, alg))
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise _invalid("%s header has %r, which is never accepted" % (what, name))
    if header.get("typ") != typ:
        raise _invalid("token has typ %r; want %r" % (header.get("typ"), typ))
    kid = header.get("kid")
    if not kid or not isinstance(kid, str):
        raise _invalid("%s header has no kid" % what)
    pub = keys.get(kid)
    if pub is None:
        raise _invalid("unknown signing key id %r: the %s was signed by a key not in this key set "
                       "(fetch the tenant's current JWKS, or check the tenant)" % (kid, what))
    try:
        sig = b64decode(s64)
    except (ValueError, binascii.Error):
        sig = b""
    if len(sig) != 64:
        raise _invalid("%s signature is malformed" % what)
    try:
        pub.verify(sig, (h64 + "." + p64).encode("ascii"))
    except InvalidSignature:
        raise _invalid("%s signature does not verify with key %r: the %s was altered or signed by another key"
                       % (what, kid, what))
    try:
        payload = json.loads(b64decode(p64))
    except (ValueError, binascii.Error):
        raise _invalid("%s payload is not base64url JSON" % what)
    if not isinstance(payload, dict):
        raise _invalid("%s payload is not a JSON object" % what)
    return payload


def check_claims(c):
    """Refuse a license whose claims are incomplete."""
    for name in ("iss", "sub", "contract"):
        if not isinstance(c.get(name), str) or not c.get(name):
            raise _invalid("license has no %s" % name)
    for name in ("iat", "nbf", "exp"):
        if not isinstance(c.get(name), int) or isinstance(c.get(name), bool) or c[name] == 0:
            raise _invalid("license lacks iat, nbf or exp")
    if c["exp"] <= c["nbf"]:
        raise _invalid("license exp is not after nbf")
    if not isinstance(c.get("features", {}), dict):
        raise _invalid("license features is not an object")


def check_time(c, now, skew=DEFAULT_SKEW):
    """Raise unless the license is valid at now (seconds since the epoch)."""
    if now + skew < c["nbf"]:
        raise LicensorError("invalid", "license is not valid yet (nbf %d)" % c["nbf"], stage="verify")
    if now - skew >= c["exp"]:
        raise LicensorError("failed_precondition", "license expired at %d" % c["exp"], stage="verify")


def verify_license(token, keys, now=None, skew=DEFAULT_SKEW):
    """Verify a license offline and return its claims (a dict).

    keys is {kid: Ed25519PublicKey} (parse_jwks). With now (seconds since the
    epoch) nbf and exp are checked too.
    """
    claims = verify_jws(token, keys, LICENSE_TYPE)
    check_claims(claims)
    if now is not None:
        check_time(claims, now, skew)
    return claims
