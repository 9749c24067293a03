// The tenant's public keys as a client holds them: pinned at build time, or
// fetched from the server's JWKS (and cached by the client), fetched again
// when a token names an unknown kid after a rotation, at most once a minute.
import { LicensorError } from "./errors.js";
import { parseJwks, verifyJws, type KeySet } from "./jws.js";
import { fetchJwks } from "./transport.js";

const JWKS_MIN_INTERVAL_MS = 60_000;

export interface KeyRingOptions {
  keys?: string | { keys: unknown[] };
  server?: string;
  tenantId?: string;
  timeoutMs: number;
  ca?: Buffer;
}

export class KeyRing {
  keys: KeySet = new Map();
  /** The fetched JWKS as served, for the cache; undefined when pinned. */
  text?: string;
  private fetchedAt?: number;

  constructor(private readonly o: KeyRingOptions) {}

  /** Loads the pinned keys, if any. */
  async pin(): Promise<void> {
    if (this.o.keys) this.keys = await parseJwks(this.o.keys);
  }

  /** Takes a JWKS from the cache, unless keys are pinned. */
  async loadCached(cached: unknown): Promise<void> {
    if (this.o.keys || !cached) return;
    const text = JSON.stringify(cached);
    this.keys = await parseJwks(text);
    this.text = text;
  }

  /** Fetches the tenant's JWKS (at most once a minute unless forced); false when it did not. */
  async fetch(force = false): Promise<boolean> {
    const o = this.o;
    if (o.keys || !o.server || !o.tenantId) return false;
    const t = Date.now();
    if (!force && this.fetchedAt !== undefined && t - this.fetchedAt < JWKS_MIN_INTERVAL_MS) return false;
    this.fetchedAt = t;
    const text = await fetchJwks(o.server, o.tenantId, o.timeoutMs, o.ca);
    this.keys = await parseJwks(text);
    this.text = text;
    return true;
  }

  /** Fetches the keys when none are held yet. */
  async ensure(): Promise<void> {
    if (this.keys.size === 0) await this.fetch(true);
  }

  /** verifyJws with the keys held, fetching them again once for an unknown kid. */
  async verify(token: string, typ: string): Promise<Record<string, unknown>> {
    try {
      return await verifyJws(token, this.keys, typ);
    } catch (e) {
      if (!(e instanceof LicensorError) || !e.detail.startsWith("unknown signing key") || !(await this.fetch())) throw e;
      return await verifyJws(token, this.keys, typ);
    }
  }
}
