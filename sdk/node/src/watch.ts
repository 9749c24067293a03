// The WatchLicense stream: the server sends the license at once and a fresh
// one whenever the contract changes. Polling goes on beside it; when the
// stream breaks it is reopened after the client's back-off.
import type { Client as RpcClient } from "@connectrpc/connect";
import type { Client } from "./client.js";
import type { LicenseService } from "./gen/licensor/v1/license_pb.js";
import { classify } from "./transport.js";

export async function watch(c: Client, rpc: RpcClient<typeof LicenseService>, signal: AbortSignal): Promise<void> {
  const o = c.opts;
  for (let fails = 0; !signal.aborted; ) {
    let hint = 0;
    try {
      // No deadline: the stream stays open until the client closes it.
      for await (const res of rpc.watchLicense(c.licenseRequest(), { signal, timeoutMs: 0 })) {
        await c.accept(res.license, "stream");
        fails = 0;
      }
    } catch (e) {
      if (signal.aborted) return;
      const err = classify(e, o.server!, o.timeoutMs);
      hint = err.retryAfterMs;
      o.logger?.warn(`licensor: license stream broke; polling goes on: ${err.message}`);
    }
    fails++;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, c.backoffMs(fails, hint));
      t.unref();
      signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
