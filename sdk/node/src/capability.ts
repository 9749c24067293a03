// Floating capabilities: check units of counted features out of the
// customer's pool as a lease, renew it, and check them back in. Busy
// answers (RESOURCE_EXHAUSTED, UNAVAILABLE) are retried with the client's
// back-off, the server's retry hint as a floor.
import { createClient, type Client as RpcClient } from "@connectrpc/connect";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { randomBytes } from "node:crypto";
import type { Client } from "./client.js";
import { DeniedError, LicensorError } from "./errors.js";
import { CapabilityService, type Lease as LeaseMsg } from "./gen/licensor/v1/capability_pb.js";
import { CAPABILITY_TYPE } from "./jws.js";
import { classify } from "./transport.js";

/** Tries of one capability call before its error is returned. */
export const CAPABILITY_ATTEMPTS = 10;

/** Units held by this instance until expiresAtMs. */
export interface Lease {
  id: string;
  poolId: string;
  units: Record<string, number>;
  expiresAtMs: number;
  borrowed: boolean;
  /** The signed capability document (JWS, typ capability+jwt), verified. */
  capabilityToken?: string;
  claims?: Record<string, unknown>;
}

export interface RequestOptions {
  /** Grant what is available instead of all-or-nothing. */
  allowPartial?: boolean;
  /** Borrow: a long lease for going offline. */
  borrowMs?: number;
  /** Idempotency key, the same for every retry; generated when absent. */
  requestId?: string;
  poolId?: string;
}

export interface PoolFeature {
  poolId: string;
  feature: string;
  maxUnits: number;
  inUse: number;
  free: number;
  heldByInstance: number;
}

function toLease(m: LeaseMsg | undefined, token?: string, claims?: Record<string, unknown>): Lease {
  return {
    id: m?.id ?? "",
    poolId: m?.poolId ?? "",
    units: Object.fromEntries((m?.units ?? []).map((u) => [u.feature, Number(u.units)])),
    expiresAtMs: m?.expiresAt ? timestampMs(m.expiresAt) : 0,
    borrowed: m?.borrowed ?? false,
    capabilityToken: token || undefined,
    claims,
  };
}

/** @internal the capability calls of Client. */
export class Capabilities {
  private rpc?: RpcClient<typeof CapabilityService>;

  constructor(private readonly c: Client) {
    if (c.conn) this.rpc = createClient(CapabilityService, c.conn.transport);
  }

  private async retry<T>(call: (rpc: RpcClient<typeof CapabilityService>) => Promise<T>): Promise<T> {
    const o = this.c.opts;
    if (!this.rpc) throw new LicensorError("unavailable", "no server configured");
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let n = 1; ; n++) {
      try {
        return await call(this.rpc);
      } catch (e) {
        const err = classify(e, o.server!, o.timeoutMs);
        if ((err.code !== "exhausted" && err.code !== "unavailable") || n >= CAPABILITY_ATTEMPTS) throw err;
        await sleep(this.c.backoffMs(n, err.retryAfterMs));
      }
    }
  }

  private async verify(token: string): Promise<Record<string, unknown> | undefined> {
    if (!token) return undefined;
    const claims = await this.c.ring.verify(token, CAPABILITY_TYPE);
    if (claims.sub !== this.c.instanceId || claims.contract !== this.c.opts.contractId) {
      throw new LicensorError("invalid", "capability token is for another instance or contract", "verify");
    }
    return claims;
  }

  private async ask(units: Record<string, number>, preview: boolean, r: RequestOptions) {
    if (Object.keys(units).length === 0) throw new Error("units: name at least one feature");
    await this.c.init();
    await this.c.ring.ensure();
    const requestId = r.requestId ?? "req-" + randomBytes(12).toString("hex");
    const res = await this.retry((rpc) =>
      rpc.requestCapabilities({
        contractId: this.c.opts.contractId,
        instanceId: this.c.instanceId,
        capabilities: Object.entries(units).map(([feature, n]) => ({ feature, units: BigInt(n) })),
        preview,
        allowPartial: r.allowPartial ?? false,
        borrow: r.borrowMs ? durationFromMs(r.borrowMs) : undefined,
        requestId,
        poolId: r.poolId ?? "",
      }),
    );
    if (!res.granted) {
      throw new DeniedError(
        res.shortages.map((s) => ({
          feature: s.feature,
          requested: Number(s.requested),
          available: Number(s.available),
          short: Number(s.short),
          nextRelease: s.nextRelease ? timestampMs(s.nextRelease) : undefined,
        })),
      );
    }
    return res;
  }

  /** Checks out units ({feature: n}); rejects with DeniedError naming what is short. */
  async request(units: Record<string, number>, r: RequestOptions = {}): Promise<Lease> {
    const res = await this.ask(units, false, r);
    return toLease(res.lease, res.capabilityToken, await this.verify(res.capabilityToken));
  }

  /** The same answer as request, taking nothing: true, or DeniedError. */
  async preview(units: Record<string, number>, r: Omit<RequestOptions, "borrowMs" | "requestId"> = {}): Promise<true> {
    await this.ask(units, true, r);
    return true;
  }

  /** Extends a live lease by its pool's TTL. */
  async renew(lease: Lease | string): Promise<Lease> {
    const leaseId = typeof lease === "string" ? lease : lease.id;
    const res = await this.retry((rpc) => rpc.renewLease({ contractId: this.c.opts.contractId, instanceId: this.c.instanceId, leaseId }));
    return toLease(res.lease, res.capabilityToken, await this.verify(res.capabilityToken));
  }

  /** Checks units back in (all of the lease when units is absent); resolves to what is left of it. */
  async return(lease: Lease | string, units?: Record<string, number>): Promise<Lease | undefined> {
    const leaseId = typeof lease === "string" ? lease : lease.id;
    const res = await this.retry((rpc) =>
      rpc.returnCapabilities({
        contractId: this.c.opts.contractId,
        instanceId: this.c.instanceId,
        leaseId,
        units: Object.entries(units ?? {}).map(([feature, n]) => ({ feature, units: BigInt(n) })),
      }),
    );
    return res.lease ? toLease(res.lease) : undefined;
  }

  /** What this instance holds and what the pools have. */
  async list(): Promise<{ leases: Lease[]; features: PoolFeature[] }> {
    const res = await this.retry((rpc) => rpc.listFeatures({ contractId: this.c.opts.contractId, instanceId: this.c.instanceId }));
    return {
      leases: res.leases.map((l) => toLease(l)),
      features: res.features.map((f) => ({
        poolId: f.poolId,
        feature: f.feature,
        maxUnits: Number(f.maxUnits),
        inUse: Number(f.inUse),
        free: Number(f.free),
        heldByInstance: Number(f.heldByInstance),
      })),
    };
  }
}
