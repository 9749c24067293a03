// Starts a real `licensor serve --demo` on 127.0.0.1:0 with a temporary data
// directory. The binary is $LICENSOR_BIN, or built once with go build.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

export interface Demo {
  server: string;
  ca_cert: string;
  tenant_id: string;
  contract_id: string;
  pool_id: string;
  token: string;
  admin_token: string;
}

export class Server {
  demo!: Demo;
  cert!: string;
  key!: string;
  bin = "";
  private proc?: ChildProcess;
  readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), "licensor-node-"));

  async start(): Promise<void> {
    let bin = process.env.LICENSOR_BIN;
    if (!bin) {
      bin = path.join(this.tmp, "licensor");
      execFileSync("go", ["build", "-o", bin, "./cmd/licensor"], { cwd: REPO, stdio: "inherit" });
    }
    this.bin = bin;
    const data = path.join(this.tmp, "data");
    const proc = spawn(bin, ["serve", "--demo", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--data", data], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    let out = "";
    await new Promise<void>((resolve, reject) => {
      // A bound on start-up, not a timed assertion: a server that does not
      // come up fails the suite instead of hanging it.
      const bound = setTimeout(() => reject(new Error("licensor serve did not start:\n" + out)), 60_000);
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes("licensor serving")) {
          clearTimeout(bound);
          resolve();
        }
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", onData);
      proc.on("exit", (code) => {
        clearTimeout(bound);
        reject(new Error(`licensor serve exited with ${code}:\n${out}`));
      });
    });
    this.demo = JSON.parse(fs.readFileSync(path.join(data, "demo.json"), "utf8"));
    this.cert = path.join(data, "tls-cert.pem");
    this.key = path.join(data, "tls-key.pem");
  }

  /** An armored static license file for instance, from `licensor license issue`. */
  issueStatic(instance: string, validity: string): string {
    const demoFile = path.join(this.tmp, "data", "demo.json");
    return execFileSync(this.bin, ["license", "issue", "--demo-file", demoFile, "--contract", this.demo.contract_id, "--instance", instance, "--validity", validity], { encoding: "utf8" });
  }

  async close(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      p.removeAllListeners("exit");
      const exited = new Promise((r) => p.on("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
