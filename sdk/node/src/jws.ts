// Offline verification of Licensor licenses with jose: a compact JWS, alg
// EdDSA (Ed25519), typ license+jwt, signed by a key of the tenant's JWKS.
// The checks are those of the Go library's license.Verify.
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { LicensorError } from "./errors.js";

export const LICENSE_TYPE = "license+jwt";
export const CAPABILITY_TYPE = "capability+jwt";
export const ARMOR_BEGIN = "-----BEGIN LICENSOR LICENSE-----";
export const ARMOR_END = "-----END LICENSOR LICENSE-----";
/** Clock skew allowed on nbf and exp, in seconds. */
export const DEFAULT_SKEW_S = 120;

const MAX_TOKEN = 256 << 10;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const FORBIDDEN_HEADERS = ["crit", "jwk", "jku", "x5u", "x5c", "b64"];

/** Public keys by kid. */
export type KeySet = Map<string, Awaited<ReturnType<typeof importJWK>>>;

/** The claims of a license. Times are seconds since the epoch. */
export interface Claims {
  iss: string;
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  contract: string;
  customer: string;
  product?: string;
  features: Record<string, number | boolean>;
  refresh_after: number;
  fallback?: string;
  fallback_cutoff?: number;
  kind?: string;
  contract_version?: number;
  environment?: string;
  seat?: boolean;
  [claim: string]: unknown;
}

const invalid = (msg: string) => new LicensorError("invalid", msg, "verify");

/**
 * Reads a JWK Set (JSON text or object) and returns its Ed25519 signing keys
 * by kid. Keys of another type, curve, use or alg are skipped; a private key
 * in the set, a duplicate kid or a set with no usable key is an error.
 */
export async function parseJwks(data: string | { keys?: unknown }): Promise<KeySet> {
  let set: { keys?: unknown };
  try {
    set = typeof data === "string" ? JSON.parse(data) : data;
  } catch (e) {
    throw invalid(`JWKS is not valid JSON: ${(e as Error).message}`);
  }
  if (!set || !Array.isArray(set.keys)) throw invalid('JWKS has no "keys" array');
  const keys: KeySet = new Map();
  for (const [i, k] of (set.keys as JWK[]).entries()) {
    if (!k || typeof k !== "object") throw invalid(`JWKS key ${i} is not a JWK object`);
    if (k.kty !== "OKP" || k.crv !== "Ed25519") continue;
    if ((k.use ?? "sig") !== "sig" || !["EdDSA", "Ed25519"].includes(k.alg ?? "EdDSA")) continue;
    if ("d" in k) throw invalid(`JWKS key ${JSON.stringify(k.kid)} contains a private key ("d"): a JWKS must hold public keys only`);
    if (!k.kid) throw invalid(`JWKS key ${i} (Ed25519) has no kid`);
    if (keys.has(k.kid)) throw invalid(`JWKS lists kid ${JSON.stringify(k.kid)} twice`);
    if (typeof k.x !== "string" || Buffer.from(k.x, "base64url").length !== 32) {
      throw invalid(`JWKS key ${JSON.stringify(k.kid)}: x is not 32 bytes of base64url`);
    }
    keys.set(k.kid, await importJWK({ kty: "OKP", crv: "Ed25519", x: k.x }, "EdDSA"));
  }
  if (keys.size === 0) throw invalid("JWKS has no usable Ed25519 signing key");
  return keys;
}

/** Returns the JWS of a static license file, armored or bare. */
export function dearmor(text: string): string {
  text = text.trim();
  const start = text.indexOf(ARMOR_BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(ARMOR_END, start);
  if (end < 0) throw invalid(`license file has ${ARMOR_BEGIN} but no ${ARMOR_END}`);
  return text.slice(start + ARMOR_BEGIN.length, end).replace(/\s+/g, "");
}

const noun = (typ: string) => (typ === LICENSE_TYPE ? "license" : typ === CAPABILITY_TYPE ? "capability" : "token");

/** Checks the signature and header of token; returns the decoded payload. */
export async function verifyJws(token: string, keys: KeySet, typ = LICENSE_TYPE): Promise<Record<string, unknown>> {
  const what = noun(typ);
  if (!token) throw invalid(`${what} is empty`);
  if (token.length > MAX_TOKEN) throw invalid(`${what} is ${token.length} bytes; the limit is ${MAX_TOKEN}`);
  if (!COMPACT.test(token)) {
    if (token.includes(ARMOR_BEGIN)) throw invalid(`${what} is an armored license file; read the token out of it with dearmor first`);
    throw invalid(`${what} is not a compact JWS (header.payload.signature of base64url)`);
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw invalid(`${what} header is not base64url JSON`);
  }
  if (header.alg !== "EdDSA") throw invalid(`${what} has alg ${JSON.stringify(header.alg)}; only EdDSA is accepted`);
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) throw invalid(`${what} header has "${name}", which is never accepted`);
  }
  if (header.typ !== typ) throw invalid(`token has typ ${JSON.stringify(header.typ)}; want "${typ}"`);
  const kid = header.kid;
  if (typeof kid !== "string" || !kid) throw invalid(`${what} header has no kid`);
  const key = keys.get(kid);
  if (!key) {
    throw invalid(`unknown signing key id ${JSON.stringify(kid)}: the ${what} was signed by a key not in this key set (fetch the tenant's current JWKS, or check the tenant)`);
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, key, { algorithms: ["EdDSA"] }));
  } catch {
    throw invalid(`${what} signature does not verify with key ${JSON.stringify(kid)}: the ${what} was altered or signed by another key`);
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw invalid(`${what} payload is not JSON`);
  }
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) throw invalid(`${what} payload is not a JSON object`);
  return claims as Record<string, unknown>;
}

/** Refuses a license whose claims are incomplete. */
export function checkClaims(c: Record<string, unknown>): Claims {
  for (const name of ["iss", "sub", "contract"]) {
    if (typeof c[name] !== "string" || !c[name]) throw invalid(`license has no ${name}`);
  }
  for (const name of ["iat", "nbf", "exp"]) {
    if (!Number.isSafeInteger(c[name]) || c[name] === 0) throw invalid("license lacks iat, nbf or exp");
  }
  if ((c.exp as number) <= (c.nbf as number)) throw invalid("license exp is not after nbf");
  if (c.features !== undefined && (typeof c.features !== "object" || c.features === null)) throw invalid("license features is not an object");
  return c as Claims;
}

/** Throws unless the license is valid at nowMs. */
export function checkTime(c: Claims, nowMs: number, skewS = DEFAULT_SKEW_S): void {
  const now = nowMs / 1000;
  if (now + skewS < c.nbf) throw new LicensorError("invalid", `license is not valid yet (nbf ${c.nbf})`, "verify");
  if (now - skewS >= c.exp) throw new LicensorError("failed_precondition", `license expired at ${new Date(c.exp * 1000).toISOString()}`, "verify");
}

/**
 * Verifies a license offline and returns its claims. With `nowMs` the
 * license must also be valid then (nbf and exp, with `skewS` seconds of skew).
 */
export async function verifyLicense(token: string, keys: KeySet, opts: { nowMs?: number; skewS?: number } = {}): Promise<Claims> {
  const claims = checkClaims(await verifyJws(token, keys, LICENSE_TYPE));
  if (opts.nowMs !== undefined) checkTime(claims, opts.nowMs, opts.skewS);
  return claims;
}
