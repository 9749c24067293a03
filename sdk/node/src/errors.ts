/** Where a call or check failed, so that a person knows what to look at. */
export type Stage = "dns" | "tcp" | "tls" | "timeout" | "auth" | "server" | "verify";

/**
 * The one error type of the library. `code` is the domain code (`invalid`,
 * `not_found`, `conflict`, `unauthenticated`, `permission_denied`,
 * `failed_precondition`, `exhausted`, `unavailable`, `internal`);
 * `retryAfterMs` is the server's retry hint (0 when none).
 */
export class LicensorError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly stage: Stage = "server",
    readonly retryAfterMs = 0,
    options?: { cause?: unknown },
  ) {
    super(`${stage}: ${detail}`, options);
    this.name = "LicensorError";
  }
}

/** A shortage named by a refused capability request. */
export interface Shortage {
  feature: string;
  requested: number;
  available: number;
  short: number;
  /** When the soonest lease of this feature ends (ms since the epoch), if any. */
  nextRelease?: number;
}

/** A capability request that was refused: `shortages` says what is short. */
export class DeniedError extends LicensorError {
  constructor(readonly shortages: Shortage[]) {
    super("exhausted", "capabilities denied: " + shortages.map((s) => `${s.feature} short by ${s.short}`).join(", "));
    this.name = "DeniedError";
  }
}
