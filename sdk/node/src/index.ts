// Licensor client library for Node: keeps a verified license fresh, caches
// it, verifies it offline against the tenant's JWKS, raises expiring-soon and
// expired events, checks floating capabilities out and in.
export { Client, type ClientOptions } from "./client.js";
export { License, type Source, type State, type Status } from "./license.js";
export { type Lease, type PoolFeature, type RequestOptions } from "./capability.js";
export { DeniedError, LicensorError, type Shortage, type Stage } from "./errors.js";
export { dearmor, parseJwks, verifyLicense, type Claims, type KeySet } from "./jws.js";
