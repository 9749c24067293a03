// The cache file, in the Go library's format so either can start from the
// other's cache: {"version": 1, "token", "server_time", "jwks"}, written
// atomically with mode 0600 beside the instance id.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const CACHE_VERSION = 1;

export interface CacheSnapshot {
  version: number;
  token?: string;
  /** RFC 3339. */
  server_time?: string;
  jwks?: unknown;
}

/** A file-name-safe form of the contract id. */
export function fileStem(contractId: string): string {
  return "licensor-" + contractId.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Writes data so that a crash leaves the old file or the new one, never half of one. */
export function writeAtomic(file: string, data: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
  try {
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** The cache, or undefined when there is none; throws when it is corrupt. */
export function readCache(file: string): CacheSnapshot | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const s = JSON.parse(text) as CacheSnapshot;
  if (!s || s.version !== CACHE_VERSION) throw new Error(`license cache ${file} is corrupt`);
  return s;
}

/** RFC 3339 with any number of fraction digits (as Go writes them) to ms since the epoch. */
export function parseTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(m[1] + (m[3].toUpperCase() === "Z" ? "Z" : m[3]));
  return Number.isNaN(ms) ? undefined : ms + (m[2] ? Math.floor(Number(m[2]) * 1000) : 0);
}

/** Writes the cache: the last license, the newest server time seen, the fetched JWKS. */
export function writeCache(file: string, token: string | undefined, serverTimeMs: number, jwksText: string | undefined): void {
  const s: CacheSnapshot = {
    version: CACHE_VERSION,
    token,
    server_time: serverTimeMs ? new Date(serverTimeMs).toISOString() : undefined,
    jwks: jwksText ? JSON.parse(jwksText) : undefined,
  };
  writeAtomic(file, JSON.stringify(s));
}

/**
 * The instance id kept in file, or a new one (kept there) so that a restart
 * keeps its seat. Without a file the id lasts as long as the process.
 */
export function loadInstanceId(file: string | undefined, logger?: Pick<Console, "warn">): string {
  if (file) {
    try {
      const v = fs.readFileSync(file, "utf8").trim();
      if (v) return v;
    } catch {
      // none yet
    }
  }
  const id = "inst-" + randomBytes(10).toString("hex");
  if (file) writeAtomic(file, id + "\n");
  else logger?.warn(`licensor: no cacheDir: the instance id ${id} is not persisted and a restart takes a new seat`);
  return id;
}
