// The Node library against a real licensor server (test/server.ts).
import assert from "node:assert/strict";
import { once } from "node:events";
import * as fs from "node:fs";
import * as http2 from "node:http2";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { Client, DeniedError, LicensorError, parseJwks, verifyLicense, type ClientOptions } from "../src/index.js";
import { fetchJwks } from "../src/transport.js";
import { Server } from "./server.js";

const DAY = 86_400_000;
const srv = new Server();
before(() => srv.start());
after(() => srv.close());

/** An injected clock the tests move; starts at the real time. */
class Clock {
  t = Date.now();
  now = () => this.t;
}

// A Connect JSON call with the demo's CA, for the admin API.
function fetchWithCa(url: string, token: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request(url, { method: "POST", ca: fs.readFileSync(srv.cert), headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}`, "Content-Length": Buffer.byteLength(data) } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(data);
  });
}

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "licensor-node-cache-"));
const jwks = () => fetchJwks(srv.demo.server, srv.demo.tenant_id, 5000, fs.readFileSync(srv.cert));

// Every client a test made is closed after it, so that no connection
// outlives the test.
const open: Client[] = [];
afterEach(() => open.splice(0).forEach((c) => c.close()));

function newClient(clock: Clock, o: Partial<ClientOptions> = {}): Client {
  const d = srv.demo;
  return track(new Client({
    server: d.server, token: d.token, contractId: d.contract_id, tenantId: d.tenant_id, caFile: srv.cert,
    now: clock.now, random: () => 0.5, sleep: async () => undefined, ...o,
  }));
}

function track(c: Client): Client {
  open.push(c);
  return c;
}

function record(c: Client): unknown[][] {
  const events: unknown[][] = [];
  c.on("change", (l) => events.push(["change", l.claims.jti]));
  c.on("expiringSoon", (ms: number) => events.push(["expiringSoon", Math.round(ms / DAY)]));
  c.on("expired", () => events.push(["expired"]));
  c.on("checkFailed", (e: LicensorError) => events.push(["checkFailed", e.stage, e.code]));
  return events;
}

describe("license", () => {
  test("refresh at refresh_after, cache, start from the cache", async () => {
    const dir = tmpDir();
    const clock = new Clock();
    const c = newClient(clock, { cacheDir: dir, instanceId: "node-sched" });
    const lic = await c.refresh();
    assert.equal(lic.source, "server");
    assert.equal(c.allowed("reporting"), true);
    assert.equal(c.count("solver"), 50);
    // random 0.5 is the middle of the ±10% jitter: exactly refresh_after.
    assert.ok(Math.abs(c.status().nextAttemptMs! - c.now() - lic.claims.refresh_after * 1000) < 1000);
    const file = path.join(dir, `licensor-${srv.demo.contract_id}.json`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).token, lic.token);

    // A restart with the server unreachable starts from the cache at once.
    const offline = newClient(new Clock(), { cacheDir: dir, instanceId: "node-sched", server: "https://127.0.0.1:1" });
    const st = await offline.start();
    offline.close();
    assert.deepEqual([st.state, offline.license()?.source], ["valid", "cache"]);
  });

  test("starts from the cache, then checks in the background", { timeout: 60_000 }, async () => {
    const dir = tmpDir();
    await newClient(new Clock(), { cacheDir: dir, instanceId: "node-bg" }).refresh();
    const c = newClient(new Clock(), { cacheDir: dir, instanceId: "node-bg", server: "https://127.0.0.1:1" });
    const errors: unknown[] = [];
    c.on("checkFailed", (e: LicensorError) => errors.push([e.stage, e.code]));
    const failed = once(c, "checkFailed");
    assert.equal((await c.start()).state, "valid");
    await failed; // the background loop checked at once, and failed
    assert.deepEqual(errors, [["tcp", "unavailable"]]);
    assert.equal(c.status().state, "valid");
  });

  test("static license file, offline", async () => {
    // An armored file issued by the vendor, used with no server at all.
    const file = path.join(tmpDir(), "product.lic");
    fs.writeFileSync(file, srv.issueStatic("node-static", "30d"));
    const clock = new Clock();
    const keys = await jwks();
    const c = track(new Client({ contractId: srv.demo.contract_id, instanceId: "node-static", keys, tenantId: srv.demo.tenant_id, licenseFile: file, now: clock.now }));
    const events = record(c);
    const st = await c.start();
    assert.deepEqual([st.state, c.license()?.source, c.license()?.claims.kind], ["valid", "file", "static"]);
    assert.equal(c.count("solver"), 50);
    clock.t += 24 * DAY;
    assert.equal(c.status().state, "expiring_soon");
    clock.t += 7 * DAY;
    assert.equal(c.status().state, "expired");
    assert.deepEqual(events.map((e) => e[0]), ["change", "expiringSoon", "expired"]);
    // A file for another instance is refused.
    const other = track(new Client({ contractId: srv.demo.contract_id, instanceId: "node-other", keys, licenseFile: file }));
    assert.equal((await other.start()).licensed, false);
  });

  test("a contract change and a key rotation", async () => {
    const d = srv.demo;
    const call = async (method: string, body: unknown) => {
      const res = await fetchWithCa(`${d.server}/licensor.v1.AdminService/${method}`, d.admin_token, body);
      assert.equal(res.status, 200, `${method}: ${res.body}`);
    };
    const dir = tmpDir();
    const c = newClient(new Clock(), { cacheDir: dir, instanceId: "node-rotate" }); // JWKS fetched and cached
    const events = record(c);
    const first = await c.refresh();
    await call("ExtendContract", { tenant_id: d.tenant_id, contract_id: d.contract_id, extend_by: "86400s" });
    await call("RotateSigningKey", { tenant_id: d.tenant_id });
    // A restart: the cached JWKS does not know the new key, so the client
    // fetches the set again and verifies the license the new key signed.
    const again = newClient(new Clock(), { cacheDir: dir, instanceId: "node-rotate" });
    const events2 = record(again);
    const second = await again.refresh();
    const kid = (tok: string) => JSON.parse(Buffer.from(tok.split(".")[0], "base64url").toString()).kid;
    assert.notEqual(kid(second.token), kid(first.token));
    assert.ok(second.claims.contract_version! > first.claims.contract_version!);
    // The cached license was the restarted client's first; the new contract
    // version is a change.
    assert.deepEqual(events.map((e) => e[0]), ["change"]);
    assert.deepEqual(events2.map((e) => e[0]), ["change", "change"]);
  });

  test("a held stream brings a contract change at once", { timeout: 60_000 }, async () => {
    const d = srv.demo;
    const c = newClient(new Clock(), { instanceId: "node-watch", watch: true });
    assert.equal((await c.start()).state, "valid"); // the first license, polled
    const changed = once(c, "change");
    const res = await fetchWithCa(`${d.server}/licensor.v1.AdminService/ExtendContract`, d.admin_token, { tenant_id: d.tenant_id, contract_id: d.contract_id, extend_by: "3600s" });
    assert.equal(res.status, 200, res.body);
    // The next poll is two hours away: only the stream can bring it.
    const [l] = await changed;
    assert.equal(l.source, "stream");
  });

  test("instance id persisted", () => {
    const dir = tmpDir();
    const a = newClient(new Clock(), { cacheDir: dir });
    const b = newClient(new Clock(), { cacheDir: dir });
    assert.equal(a.instanceId, b.instanceId);
    assert.match(a.instanceId, /^inst-/);
  });

  test("events once per change", async () => {
    const clock = new Clock();
    const c = newClient(clock, { instanceId: "node-events" });
    const events = record(c);
    await c.refresh();
    await c.refresh(); // a routine refresh emits nothing
    assert.deepEqual(events.map((e) => e[0]), ["change"]);
    clock.t += 8 * DAY;
    for (let i = 0; i < 3; i++) assert.equal(c.status().state, "expiring_soon");
    assert.deepEqual(events.slice(1), [["expiringSoon", 6]]);
    clock.t += 7 * DAY;
    for (let i = 0; i < 3; i++) assert.equal(c.status().licensed, false);
    assert.deepEqual(events.map((e) => e[0]), ["change", "expiringSoon", "expired"]);
    assert.equal(c.allowed("reporting"), false);
  });

  test("clock never earlier than the server's", async () => {
    // A machine clock 30 days behind: without the floor of the server's
    // time the fresh license would be "not valid yet".
    const dir = tmpDir();
    const clock = new Clock();
    clock.t -= 30 * DAY;
    const c = newClient(clock, { cacheDir: dir, instanceId: "node-rollback" });
    const iat = (await c.refresh()).claims.iat * 1000;
    assert.ok(c.now() >= iat);
    assert.equal(c.status().state, "valid");
    // The floor is persisted with the cache: a restart knows it too.
    const again = newClient(clock, { cacheDir: dir, instanceId: "node-rollback", server: "https://127.0.0.1:1" });
    await again.init();
    assert.equal(again.status().state, "valid");
    assert.ok(again.now() >= iat);
  });

  test("auth failure backs off and is reported once", async () => {
    const clock = new Clock();
    const c = newClient(clock, { token: "lsr_con_wrong", instanceId: "node-auth" });
    const events = record(c);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(c.refresh(), (e: LicensorError) => e.stage === "auth" && e.code === "unauthenticated");
    }
    // random 0.5 of a ceiling of 2 s (second retry) is 1 s, the floor.
    assert.equal(c.status().nextAttemptMs! - c.now(), 1000);
    assert.deepEqual(events, [["checkFailed", "auth", "unauthenticated"]]);
    assert.equal(c.status().licensed, false);
  });

  test("pinned keys; a wrong key is refused", async () => {
    const text = await jwks();
    const c = newClient(new Clock(), { instanceId: "node-pinned", keys: text, tenantId: undefined });
    assert.equal((await c.refresh()).claims.iss, srv.demo.tenant_id);
    const other = { keys: [{ kty: "OKP", crv: "Ed25519", kid: JSON.parse(text).keys[0].kid, x: Buffer.alloc(32, 1).toString("base64url") }] };
    const wrong = newClient(new Clock(), { instanceId: "node-pinned", keys: other, tenantId: undefined });
    await assert.rejects(wrong.refresh(), (e: LicensorError) => e.stage === "verify");
  });

  test("verify offline", async () => {
    const c = newClient(new Clock(), { instanceId: "node-offline" });
    const token = (await c.refresh()).token;
    const keys = await parseJwks(await jwks());
    const claims = await verifyLicense(token, keys);
    assert.equal(claims.features.solver, 50);
    const [h, p, s] = token.split(".");
    const bad: Record<string, string> = {
      "tampered payload": `${h}.${p.slice(0, -2)}${p.endsWith("AA") ? "BB" : "AA"}.${s}`,
      "alg none": `${Buffer.from('{"alg":"none","typ":"license+jwt","kid":"x"}').toString("base64url")}.${p}.`,
      truncated: `${h}.${p}`,
    };
    for (const [name, tok] of Object.entries(bad)) {
      await assert.rejects(verifyLicense(tok, keys), LicensorError, name);
    }
    await assert.rejects(verifyLicense(token, keys, { nowMs: (claims.exp + 3600) * 1000 }), (e: LicensorError) => e.code === "failed_precondition");
  });
});

describe("retry hint", () => {
  // A server that answers 429 with a retry hint: the client waits at least the hint.
  let busy: http2.Http2SecureServer;
  let url = "";
  before(async () => {
    busy = http2.createSecureServer({ cert: fs.readFileSync(srv.cert), key: fs.readFileSync(srv.key), allowHTTP1: true }, (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(429, { "Content-Type": "application/json", "Licensor-Error-Code": "exhausted", "Licensor-Retry-After-Ms": "2500", "Retry-After": "3" });
        res.end('{"code":"resource_exhausted","message":"too many concurrent requests"}');
      });
    });
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(busy.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => busy.close(() => r())));
  // Sessions are ended by the clients' close (afterEach), which busy.close waits for.

  test("license check honours the hint", async () => {
    const c = newClient(new Clock(), { server: url, keys: await jwks(), tenantId: undefined, instanceId: "node-busy" });
    await assert.rejects(c.refresh(), (e: LicensorError) => e.code === "exhausted" && e.retryAfterMs === 2500);
    // 2.5 s plus random 0.5 of a tenth of it.
    assert.equal(c.status().nextAttemptMs! - c.now(), 2625);
  });

  test("capability request retries, then gives up", async () => {
    const waits: number[] = [];
    const c = newClient(new Clock(), {
      server: url, keys: await jwks(), tenantId: undefined, instanceId: "node-busy",
      sleep: async (ms) => void waits.push(ms),
    });
    await assert.rejects(c.requestCapabilities({ solver: 1 }), (e: LicensorError) => e.code === "exhausted");
    assert.equal(waits.length, 9); // ten attempts
    assert.ok(waits.every((w) => w >= 2500), String(waits));
  });
});

describe("capabilities", () => {
  test("check out, list, return", async () => {
    const c = newClient(new Clock(), { instanceId: "node-cap" });
    assert.equal(await c.previewCapabilities({ solver: 2 }), true);
    const lease = await c.requestCapabilities({ solver: 3 });
    assert.deepEqual(lease.units, { solver: 3 });
    assert.deepEqual(lease.claims?.units, { solver: 3 });
    const held = async () => (await c.listFeatures()).features.find((f) => f.feature === "solver")?.heldByInstance;
    assert.equal(await held(), 3);
    const left = await c.returnCapabilities(lease, { solver: 1 });
    assert.deepEqual(left?.units, { solver: 2 });
    assert.ok((await c.renewLease(lease)).expiresAtMs > 0);
    assert.equal(await c.returnCapabilities(lease), undefined);
    assert.equal(await held(), 0);
  });

  test("a denial names the shortage", async () => {
    const c = newClient(new Clock(), { instanceId: "node-denied" });
    await assert.rejects(c.requestCapabilities({ "gpu-export": 1000 }), (e: DeniedError) => {
      assert.ok(e instanceof DeniedError);
      assert.deepEqual([e.shortages[0].feature, e.shortages[0].short], ["gpu-export", 995]);
      return true;
    });
  });
});
