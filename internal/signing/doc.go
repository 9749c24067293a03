// Package signing is the server's half of the license format: it signs
// licenses and capabilities (Signer, on the long-lived goroutines of
// SignWorkers), makes the tenants' Ed25519 signing keys, keeps their
// private halves encrypted at rest under the master key (Sealer) and
// loads or creates that master key (LoadOrCreateMasterKey). Verifying,
// armoring and the JWK Set format are in package license, which the client
// library imports; nothing here is linked into a program that embeds the
// client (client/deps_test.go checks it).
//
// What Signer writes is the format package license verifies: a JWS in
// compact serialization with alg "EdDSA", the key's "kid" and typ
// "license+jwt" or "capability+jwt". The claims are encoded without
// reflection (claimsjson.go), byte for byte what encoding/json writes.
//
// What this package must never do:
//
//   - sign claims that Verify would reject (licensor.Claims.Validate);
//   - log, print or put in an error message a private key, a sealed key's
//     plaintext or the master key; the master key is read from the
//     environment or the data directory and goes nowhere else;
//   - overwrite an existing master key file: every sealed key depends on it.
package signing
