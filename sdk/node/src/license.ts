// What a client holds: a verified license, and a snapshot of its state.
import type { LicensorError } from "./errors.js";
import type { Claims } from "./jws.js";

export type State = "unlicensed" | "valid" | "expiring_soon" | "expired";
export type Source = "server" | "stream" | "cache" | "file";

/** A verified license. */
export class License {
  constructor(readonly token: string, readonly claims: Claims, readonly source: Source) {}
  get expiresAtMs(): number {
    return this.claims.exp * 1000;
  }
  allowed(feature: string): boolean {
    return this.count(feature) > 0;
  }
  /** The count of a feature (1 for an enabled boolean feature), 0 when absent. */
  count(feature: string): number {
    const v = this.claims.features?.[feature];
    return v === true ? 1 : typeof v === "number" && v > 0 ? v : 0;
  }
  /** @internal what makes a change worth an event. */
  key(): string {
    const c = this.claims;
    return JSON.stringify([this.source === "file", c.contract_version ?? 0, c.fallback_cutoff ?? 0, Object.entries(c.features ?? {}).sort()]);
  }
}

export interface Status {
  state: State;
  licensed: boolean;
  /** Why the state is not valid, for a person ("" when it is). */
  reason: string;
  remainingMs: number;
  expiresAtMs?: number;
  licenseId?: string;
  source?: Source;
  fallback: boolean;
  lastError?: LicensorError;
  nextAttemptMs?: number;
}
