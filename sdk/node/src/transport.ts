// The connection to the server: a Connect transport with the contract token,
// the CA bundle and the timeout, and the mapping of its errors onto
// LicensorError (domain code, stage, retry hint).
import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as https from "node:https";
import { LicensorError, type Stage } from "./errors.js";

/** The longest retry hint the client honours. */
export const MAX_RETRY_HINT_MS = 3_600_000;

// Connect codes mapped to the domain codes, for an answer without the
// Licensor-Error-Code header (a proxy's, say).
const DOMAIN: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "invalid",
  [Code.NotFound]: "not_found",
  [Code.AlreadyExists]: "conflict",
  [Code.Aborted]: "conflict",
  [Code.Unauthenticated]: "unauthenticated",
  [Code.PermissionDenied]: "permission_denied",
  [Code.FailedPrecondition]: "failed_precondition",
  [Code.ResourceExhausted]: "exhausted",
  [Code.Unavailable]: "unavailable",
  [Code.DeadlineExceeded]: "unavailable",
};

export interface TransportOptions {
  server: string;
  token: string;
  timeoutMs: number;
  /** PEM CA bundle the server's certificate chains to (else the system's roots). */
  ca?: string | Buffer;
  /**
   * "2" (the default) or "1.1", for proxies that do not carry HTTP/2. Over
   * HTTP/1.1 a refused token can surface as a broken connection (stage tcp):
   * the server answers before it reads the body and closes the connection.
   */
  httpVersion?: "1.1" | "2";
}

/** A transport and a way to close its connections. */
export interface Conn {
  transport: Transport;
  close(): void;
}

export function newTransport(o: TransportOptions): Conn {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("Authorization", `Bearer ${o.token}`);
    return next(req);
  };
  const nodeOptions = o.ca ? { ca: o.ca } : {};
  const common = { baseUrl: o.server, interceptors: [auth], defaultTimeoutMs: o.timeoutMs };
  if (o.httpVersion === "1.1") {
    return { transport: createConnectTransport({ ...common, httpVersion: "1.1", nodeOptions }), close: () => undefined };
  }
  // One HTTP/2 connection, held by this client alone so that close() can end
  // it; it is unref'd while idle and closes after a minute without calls.
  const sessionManager = new Http2SessionManager(o.server, { idleConnectionTimeoutMs: 60_000 }, nodeOptions);
  return { transport: createConnectTransport({ ...common, httpVersion: "2", sessionManager }), close: () => sessionManager.abort() };
}

/** The wait a response asks for: Licensor-Retry-After-Ms, else Retry-After in seconds; 0 when none. */
export function retryHintMs(h: Headers): number {
  for (const [name, scale] of [["Licensor-Retry-After-Ms", 1], ["Retry-After", 1000]] as const) {
    const n = Number(h.get(name));
    if (h.get(name) && Number.isFinite(n) && n > 0) return Math.min(n * scale, MAX_RETRY_HINT_MS);
  }
  return 0;
}

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID", "EPROTO",
]);

function causeCode(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++) {
    if (typeof e.code === "string") return e.code;
  }
  return "";
}

/** Turns the error of a call to server into a LicensorError naming the stage that failed. */
export function classify(err: unknown, server: string, timeoutMs: number): LicensorError {
  if (err instanceof LicensorError) return err;
  const ce = ConnectError.from(err);
  const hint = retryHintMs(ce.metadata);
  const sys = causeCode(ce.cause);
  let stage: Stage = "server";
  let detail = ce.rawMessage;
  if (ce.code === Code.DeadlineExceeded || sys === "ETIMEDOUT") {
    return new LicensorError("unavailable", `no answer from ${server} within ${timeoutMs} ms`, "timeout", 0, { cause: err });
  } else if (sys === "ENOTFOUND" || sys === "EAI_AGAIN") {
    stage = "dns";
    detail = `cannot resolve ${new URL(server).hostname}`;
  } else if (TLS_CODES.has(sys) || sys.startsWith("ERR_SSL") || sys.startsWith("ERR_TLS")) {
    stage = "tls";
    detail = `the server's certificate is not trusted or the TLS handshake failed (behind a TLS-intercepting proxy? give its CA bundle with caFile): ${sys}`;
  } else if (sys === "ECONNREFUSED" || sys === "ECONNRESET" || sys === "EHOSTUNREACH" || sys === "ENETUNREACH") {
    stage = "tcp";
    detail = `cannot connect to ${server}: ${sys}`;
  }
  let code = ce.metadata.get("Licensor-Error-Code") ?? DOMAIN[ce.code] ?? "internal";
  if (stage !== "server") code = "unavailable";
  else if (code === "unauthenticated" || code === "permission_denied") stage = "auth";
  return new LicensorError(code, detail, stage, hint, { cause: err });
}

/** Fetches the tenant's JWKS (its text): /.well-known/jwks.json?tenant=<id>. */
export function fetchJwks(server: string, tenantId: string, timeoutMs: number, ca?: string | Buffer): Promise<string> {
  const url = new URL("/.well-known/jwks.json", server);
  url.searchParams.set("tenant", tenantId);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new LicensorError("unavailable", `JWKS: HTTP ${res.statusCode} from ${server}`));
        else resolve(Buffer.concat(chunks).toString("utf8"));
      });
      res.on("error", (e) => reject(classify(e, server, timeoutMs)));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (e) => reject(classify(e, server, timeoutMs)));
  });
}
