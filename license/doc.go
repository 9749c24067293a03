// Package license verifies and armors Licensor licenses and reads and
// writes the JWK Sets that carry the tenants' public keys: what a verifier
// needs, and nothing more. The client library imports it; signing, the
// sealing of private keys and the master key are in internal/signing, so
// that no program embedding the client links them.
//
// A license is a JWS in compact serialization with alg "EdDSA", a "kid"
// naming the tenant key that signed it and typ "license+jwt"; capability
// leases use the same shape with typ "capability+jwt". The format is fixed
// because tools outside Licensor, in any language, verify it: what the
// server signs is a standard JWS that any JOSE library accepts, and Verify
// is what the Go client uses offline, with no network.
//
// The JWS code is written here with crypto/ed25519 rather than taken from a
// JOSE library: there is exactly one algorithm to support, and a verifier
// this small can be read whole. The tests check it against tokens that
// go-jose writes, and check what internal/signing writes against go-jose,
// golang-jwt and the standard library alone.
//
// What this package must never do:
//
//   - accept a token whose alg is anything but "EdDSA" ("none", "HS256"
//     with the public key as secret, ...), or a key carried in the token
//     itself ("jwk", "jku", "x5u", "x5c") or a "crit" extension it does not
//     understand;
//   - trust a claim before the signature over it has been checked;
//   - panic on any input, however malformed;
//   - accept a private key ("d") in a JWK Set: such a key has leaked.
//
// Verification errors are *licensor.Error values with code
// licensor.EINVALID (an expired license keeps the code CheckTime gives it)
// and a one-line message a person can act on.
package license
