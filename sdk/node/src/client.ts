// The client: holds a verified, fresh license for one contract. It behaves
// as the Go library (client/, docs/client.md) does; the comments say where
// the Node spelling differs.
import { createClient, type Client as RpcClient } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileStem, loadInstanceId, parseTime, readCache, writeCache } from "./cache.js";
import { Capabilities } from "./capability.js";
import { LicensorError } from "./errors.js";
import { LicenseService, type IssuedLicense, type Telemetry } from "./gen/licensor/v1/license_pb.js";
import { watch } from "./watch.js";
import { License, type Source, type State, type Status } from "./license.js";
import { checkClaims, checkTime, dearmor, LICENSE_TYPE } from "./jws.js";
import { KeyRing } from "./keyring.js";
import { classify, MAX_RETRY_HINT_MS, newTransport } from "./transport.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TelemetrySchema } from "./gen/licensor/v1/license_pb.js";


const DAY = 86_400_000;

export interface ClientOptions {
  /** The server URL; empty runs offline on cacheDir and licenseFile. */
  server?: string;
  contractId: string;
  /** The contract token. */
  token?: string;
  /** Default: generated once and kept in cacheDir, so a restart keeps its seat. */
  instanceId?: string;
  /** The tenant's JWKS (text or object), pinned at build time. Else tenantId + server fetch it. */
  keys?: string | { keys: unknown[] };
  /** When set, a license from another tenant is refused. */
  tenantId?: string;
  cacheDir?: string;
  /** A static license file (armored or bare JWS), used when no fresher valid license is held. */
  licenseFile?: string;
  /** Default: the license's refresh_after (2 h); always jittered ±10%. */
  refreshIntervalMs?: number;
  timeoutMs?: number;
  expiringSoonMs?: number;
  clockSkewMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** PEM CA bundle for the server's certificate (a TLS-intercepting proxy's, a self-signed server's). */
  caFile?: string;
  httpVersion?: "1.1" | "2";
  /** Hold a WatchLicense stream, so that a contract change arrives at once; polling goes on beside it. */
  watch?: boolean;
  telemetry?: () => MessageInitShape<typeof TelemetrySchema>;
  host?: string;
  /** The clock, in ms since the epoch; tests move it. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Pick<Console, "warn">;
}

/**
 * Client keeps a verified license for one contract. Events: "change"
 * (License), "expiringSoon" (remaining ms), "expired" (), "checkFailed"
 * (LicensorError) — each once per change, never per tick or retry. (Not
 * "error": an EventEmitter throws an "error" nobody listens to, and a license
 * check must never take the product down.)
 */
export class Client extends EventEmitter {
  readonly opts: Required<Pick<ClientOptions, "timeoutMs" | "expiringSoonMs" | "clockSkewMs" | "minBackoffMs" | "maxBackoffMs">> & ClientOptions;
  readonly instanceId: string;
  /** @internal */ readonly ring: KeyRing;
  /** @internal */ readonly conn?: ReturnType<typeof newTransport>;
  private readonly licenses?: RpcClient<typeof LicenseService>;
  private readonly capabilities: Capabilities;
  private readonly ca?: Buffer;
  private online?: License;
  private static?: License;
  private serverHighMs = 0;
  private failures = 0;
  private lastError?: LicensorError;
  private nextAttemptMs?: number;
  private lastState?: State;
  private lastKey?: string;
  private inited?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private running = false;
  private watchAbort?: AbortController;
  private readonly queue: [string, unknown[]][] = [];
  private draining = false;

  constructor(o: ClientOptions) {
    super();
    if (!o.contractId) throw new Error("contractId is required");
    if (o.server && !o.token) throw new Error("token (the contract token) is required with server");
    if (!o.keys && !(o.server && o.tenantId)) throw new Error("give keys (the tenant's JWKS) or tenantId and server to fetch it");
    this.opts = { timeoutMs: 5000, expiringSoonMs: 7 * DAY, clockSkewMs: 120_000, minBackoffMs: 1000, maxBackoffMs: 300_000, ...o };
    this.ca = o.caFile ? fs.readFileSync(o.caFile) : undefined;
    this.ring = new KeyRing({ keys: o.keys, server: o.server, tenantId: o.tenantId, timeoutMs: this.opts.timeoutMs, ca: this.ca });
    if (o.server) {
      this.conn = newTransport({ server: o.server, token: o.token!, timeoutMs: this.opts.timeoutMs, ca: this.ca, httpVersion: o.httpVersion });
      this.licenses = createClient(LicenseService, this.conn.transport);
    }
    this.capabilities = new Capabilities(this);
    this.instanceId = o.instanceId ?? loadInstanceId(o.cacheDir ? this.file(".instance") : undefined, o.logger);
  }

  // --- clock and state ------------------------------------------------

  /** The client's clock: never earlier than the newest server time seen. */
  now(): number {
    return Math.max((this.opts.now ?? Date.now)(), this.serverHighMs);
  }

  private validAt(l: License, now: number): boolean {
    const skew = this.opts.clockSkewMs;
    return now + skew >= l.claims.nbf * 1000 && now - skew < l.claims.exp * 1000;
  }

  private current(now: number): License | undefined {
    const held = [this.online, this.static].filter((l): l is License => l !== undefined);
    return held.find((l) => this.validAt(l, now)) ?? held.sort((a, b) => b.claims.exp - a.claims.exp)[0];
  }

  /** The state now; emits the events a change of state calls for. */
  status(): Status {
    const now = this.now();
    const st: Status = { state: "unlicensed", licensed: false, reason: "", remainingMs: 0, fallback: false, lastError: this.lastError, nextAttemptMs: this.nextAttemptMs };
    const l = this.current(now);
    if (!l) {
      st.reason = "no license yet" + (this.lastError ? `: ${this.lastError.message}` : "");
    } else {
      const c = l.claims;
      Object.assign(st, { expiresAtMs: c.exp * 1000, licenseId: c.jti, source: l.source, fallback: !!c.fallback_cutoff });
      if (now + this.opts.clockSkewMs < c.nbf * 1000) st.reason = "license is not valid yet";
      else if (now - this.opts.clockSkewMs >= c.exp * 1000) {
        st.state = "expired";
        st.reason = `license expired at ${new Date(c.exp * 1000).toISOString()}`;
      } else {
        st.remainingMs = c.exp * 1000 - now;
        st.state = st.remainingMs < this.opts.expiringSoonMs ? "expiring_soon" : "valid";
        if (st.state === "expiring_soon") st.reason = `license expires in ${Math.round(st.remainingMs / 1000)} s`;
      }
      if (st.state !== "unlicensed" && this.lastError && st.reason) st.reason += `; last check: ${this.lastError.message}`;
    }
    st.licensed = st.state === "valid" || st.state === "expiring_soon";
    if (st.state !== this.lastState) {
      if (st.state === "expiring_soon") {
        this.opts.logger?.warn(`licensor: license expires in ${Math.round(st.remainingMs / 1000)} s`);
        this.queue.push(["expiringSoon", [st.remainingMs]]);
      } else if (st.state === "expired") this.queue.push(["expired", []]);
      this.lastState = st.state;
    }
    if (l && st.licensed && l.key() !== this.lastKey) {
      this.lastKey = l.key();
      this.queue.push(["change", [l]]);
    }
    this.drain();
    return st;
  }

  // Events fire one at a time and in order; a listener may call back into
  // the client (its events are queued behind the current one).
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        try {
          this.emit(e[0], ...e[1]);
        } catch (err) {
          this.opts.logger?.warn(`licensor: ${e[0]} listener failed: ${err}`);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** The license held (a valid one if there is one). */
  license(): License | undefined {
    return this.current(this.now());
  }

  private validLicense(): License | undefined {
    const now = this.now();
    const l = this.current(now);
    return l && this.validAt(l, now) ? l : undefined;
  }

  licensed(): boolean {
    return this.status().licensed;
  }
  allowed(feature: string): boolean {
    return this.validLicense()?.allowed(feature) ?? false;
  }
  count(feature: string): number {
    return this.validLicense()?.count(feature) ?? 0;
  }
  remainingMs(): number {
    return this.status().remainingMs;
  }

  // --- verification -----------------------------------------------------

  /** Verifies a license for this client offline. */
  async verify(token: string, source: Source = "server"): Promise<License> {
    const payload = await this.ring.verify(token, LICENSE_TYPE);
    const c = checkClaims(payload);
    const refuse = (msg: string) => new LicensorError("invalid", msg, "verify");
    if (c.sub !== this.instanceId) throw refuse(`license is for instance ${JSON.stringify(c.sub)}, not ${JSON.stringify(this.instanceId)}`);
    if (c.contract !== this.opts.contractId) throw refuse(`license is for contract ${JSON.stringify(c.contract)}, not ${JSON.stringify(this.opts.contractId)}`);
    if (this.opts.tenantId && c.iss !== this.opts.tenantId) throw refuse(`license is from tenant ${JSON.stringify(c.iss)}, not ${JSON.stringify(this.opts.tenantId)}`);
    checkTime(c, this.now(), this.opts.clockSkewMs / 1000);
    return new License(token, c, source);
  }

  // --- cache, license file, instance id -------------------------------------

  private file(ext: string): string {
    return path.join(this.opts.cacheDir!, fileStem(this.opts.contractId) + ext);
  }

  /** Loads, once, the cache and the static license file. */
  init(): Promise<void> {
    this.inited ??= (async () => {
      await this.ring.pin();
      await this.loadCache();
      await this.loadStatic();
      this.status();
    })();
    return this.inited;
  }

  private async loadCache(): Promise<void> {
    if (!this.opts.cacheDir) return;
    const warn = (msg: string) => this.opts.logger?.warn(`licensor: ${msg}`);
    let s;
    try {
      s = readCache(this.file(".json"));
    } catch (e) {
      return warn(`ignoring the license cache: ${(e as Error).message}`);
    }
    if (!s) return;
    this.serverHighMs = Math.max(this.serverHighMs, parseTime(s.server_time) ?? 0);
    try {
      await this.ring.loadCached(s.jwks);
    } catch (e) {
      warn(`cached JWKS is corrupt; ignoring it: ${(e as Error).message}`);
    }
    if (!s.token) return;
    try {
      await this.ring.ensure();
      const l = await this.verify(s.token, "cache");
      // The signed iat is a floor for the clock that editing the cache cannot lower.
      this.serverHighMs = Math.max(this.serverHighMs, l.claims.iat * 1000);
      this.online = l;
    } catch (e) {
      warn(`cached license does not verify; ignoring it: ${(e as Error).message}`);
    }
  }

  private async loadStatic(): Promise<void> {
    if (!this.opts.licenseFile) return;
    try {
      const l = await this.verify(dearmor(fs.readFileSync(this.opts.licenseFile, "utf8")), "file");
      this.serverHighMs = Math.max(this.serverHighMs, l.claims.iat * 1000);
      this.static = l;
    } catch (e) {
      this.opts.logger?.warn(`licensor: static license file ${this.opts.licenseFile} is not usable: ${(e as Error).message}`);
    }
  }

  private saveCache(): void {
    if (!this.opts.cacheDir) return;
    try {
      writeCache(this.file(".json"), this.online?.token, this.serverHighMs, this.ring.text);
    } catch (e) {
      this.opts.logger?.warn(`licensor: cannot write the license cache: ${(e as Error).message}`);
    }
  }

  // --- checks -------------------------------------------------------------

  /**
   * The wait before retry n (1 for the first): exponential from minBackoffMs,
   * capped at maxBackoffMs, with full jitter, never below minBackoffMs; a
   * server retry hint is a floor (capped at one hour) plus up to a tenth more.
   */
  backoffMs(n: number, hintMs = 0): number {
    const o = this.opts;
    const rand = o.random ?? Math.random;
    const ceil = Math.min(o.maxBackoffMs, o.minBackoffMs * 2 ** (Math.max(n, 1) - 1));
    let d = Math.max(rand() * ceil, o.minBackoffMs);
    if (hintMs > 0) {
      hintMs = Math.min(hintMs, MAX_RETRY_HINT_MS);
      d = Math.max(d, hintMs + rand() * (hintMs / 10));
    }
    return d;
  }

  /** Fetches a license now. Resolves to it; rejects with a LicensorError (and schedules the retry). */
  async refresh(): Promise<License> {
    await this.init();
    const o = this.opts;
    if (!this.licenses) throw new LicensorError("unavailable", "no server configured: running offline");
    try {
      await this.ring.ensure();
      const res = await this.licenses.getLicense(this.licenseRequest()).catch((e: unknown) => {
        throw classify(e, o.server!, o.timeoutMs);
      });
      return await this.accept(res.license, "server");
    } catch (e) {
      const err = e instanceof LicensorError ? e : classify(e, o.server!, o.timeoutMs);
      this.failed(err);
      throw err;
    }
  }

  /** @internal what GetLicense and WatchLicense are asked. */
  licenseRequest() {
    const o = this.opts;
    return { contractId: o.contractId, instanceId: this.instanceId, host: o.host ?? os.hostname(), telemetry: o.telemetry?.() as Telemetry | undefined };
  }

  /** @internal verifies a license from the server or the stream and holds it. */
  async accept(issued: IssuedLicense | undefined, source: Source): Promise<License> {
    const o = this.opts;
    if (issued?.serverTime) this.serverHighMs = Math.max(this.serverHighMs, timestampMs(issued.serverTime));
    const l = await this.verify(issued?.token ?? "", source);
    this.serverHighMs = Math.max(this.serverHighMs, l.claims.iat * 1000);
    this.online = l;
    this.failures = 0;
    this.lastError = undefined;
    const every = o.refreshIntervalMs ?? (l.claims.refresh_after || 7200) * 1000;
    this.nextAttemptMs = this.now() + every * (0.9 + 0.2 * (o.random ?? Math.random)());
    this.saveCache();
    this.status();
    return l;
  }

  private failed(err: LicensorError): void {
    const prev = this.lastError;
    this.failures++;
    this.lastError = err;
    this.nextAttemptMs = this.now() + this.backoffMs(this.failures, err.retryAfterMs);
    if (!prev || prev.stage !== err.stage || prev.code !== err.code) this.queue.push(["checkFailed", [err]]);
    this.opts.logger?.warn(`licensor: license check failed: ${err.message}`);
    this.drain();
  }

  /**
   * Loads the cache and the license file, then keeps the license fresh in the
   * background. With a valid cached license it resolves at once (and fetches
   * in the background); otherwise after the first check (at most timeoutMs).
   * Resolves to the Status: an unlicensed one names the last error, and the
   * client keeps retrying.
   */
  async start(): Promise<Status> {
    await this.init();
    let st = this.status();
    if (this.licenses && !st.licensed) {
      await this.refresh().catch(() => undefined);
      st = this.status();
    } else if (this.licenses) {
      this.nextAttemptMs = this.now();
    }
    if (this.licenses && !this.running) {
      this.running = true;
      this.schedule();
      if (this.opts.watch) {
        this.watchAbort = new AbortController();
        void watch(this, this.licenses, this.watchAbort.signal);
      }
    }
    return st;
  }

  // The background loop wakes for the next check or the next state boundary,
  // whichever comes first, so the events fire on time when no check is due.
  private schedule(): void {
    if (!this.running) return;
    const now = this.now();
    let t = this.nextAttemptMs ?? now;
    const l = this.current(now);
    if (l) {
      for (const b of [l.claims.exp * 1000 - this.opts.expiringSoonMs, l.claims.exp * 1000 + this.opts.clockSkewMs]) {
        if (b > now) t = Math.min(t, b);
      }
    }
    // Bounded so that a jump of the wall clock is noticed.
    const wait = Math.min(Math.max(t - now, 0), 60_000);
    this.timer = setTimeout(() => void this.tick(), wait);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    if (this.nextAttemptMs === undefined || this.now() >= this.nextAttemptMs) await this.refresh().catch(() => undefined);
    else this.status();
    this.schedule();
  }

  /** Stops the background loop and closes the connection to the server. */
  close(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.watchAbort?.abort();
    this.conn?.close();
  }

  // --- capabilities (see capability.ts) ----------------------------------------

  requestCapabilities(...a: Parameters<Capabilities["request"]>) {
    return this.capabilities.request(...a);
  }
  previewCapabilities(...a: Parameters<Capabilities["preview"]>) {
    return this.capabilities.preview(...a);
  }
  renewLease(...a: Parameters<Capabilities["renew"]>) {
    return this.capabilities.renew(...a);
  }
  returnCapabilities(...a: Parameters<Capabilities["return"]>) {
    return this.capabilities.return(...a);
  }
  listFeatures() {
    return this.capabilities.list();
  }
}
