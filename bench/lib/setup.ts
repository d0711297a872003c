import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDevCerts } from "../../src/tls/dev-certs.js";
import type { GatewayChildOptions } from "../gateway.js";
import { BENCH_BODY, BENCH_PATH, BENCH_TOKEN } from "./fixture.js";
import { benchScript, type NodeChild, type StartChildOptions, startNodeChild } from "./node-child.js";
import { registerTempDir } from "./procs.js";
import { type BenchRedis, startRedis } from "./redis.js";

// What every mode shares: a temp dir, one certificate for every TLS row, the backend, Redis, and the gateway child.

export interface Workbench {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The throwaway CA that signed certFile, to verify the rows in the probes. */
  readonly ca: Buffer;
  readonly backend: NodeChild;
  readonly backendUrl: string;
  readonly redis: BenchRedis;
  /** Stops whatever was started on this bench, last first; never throws. */
  stopAll(): Promise<void>;
  /** Registers a stop to run at stopAll(). */
  onStop(stop: () => Promise<void>): void;
}

export async function openWorkbench(): Promise<Workbench> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  registerTempDir(dir);
  const stops: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const stop of stops.reverse().splice(0)) {
      await stop().catch((error: unknown) => process.stderr.write(`bench: stopping: ${String(error)}\n`));
    }
  };
  try {
    const certs = await ensureDevCerts(join(dir, "certs"));
    const backend = await startNodeChild("backend", benchScript("backend.js"), {});
    stops.push(() => backend.stop());
    const redis = await startRedis(dir);
    stops.push(() => redis.stop());
    return {
      dir,
      certFile: certs.server.cert,
      keyFile: certs.server.key,
      ca: readFileSync(certs.ca.cert),
      backend,
      backendUrl: `http://127.0.0.1:${backend.port}`,
      redis,
      stopAll,
      onStop: (stop) => void stops.push(stop),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export interface GatewayRun {
  readonly child: NodeChild;
  /** The file its access log (stdout) goes to. */
  readonly logFile: string;
}

/** Starts Portcullis in its own process, its stdout (the access log) appended to a file under the bench dir. */
export async function startGatewayChild(
  bench: Workbench,
  name: string,
  options: Omit<GatewayChildOptions, "backendUrl" | "certFile" | "keyFile">,
  start: Pick<StartChildOptions, "execArgv" | "wrapper" | "readyTimeoutMs"> & { script?: string } = {},
): Promise<GatewayRun> {
  const { script = benchScript("gateway.js"), ...startOptions } = start;
  const logFile = join(bench.dir, `${name}.log`);
  // O_APPEND: the harness truncates the file between measurements, and appends land at the new end
  const fd = openSync(logFile, "a");
  try {
    const child = await startNodeChild(
      name,
      script,
      { ...options, backendUrl: bench.backendUrl, certFile: bench.certFile, keyFile: bench.keyFile },
      { ...startOptions, stdout: fd },
    );
    bench.onStop(() => child.stop());
    return { child, logFile };
  } finally {
    closeSync(fd);
  }
}

/** The headers every row's load sends. */
export const LOAD_HEADERS = { "x-vault-token": BENCH_TOKEN };

export function benchUrl(port: number, https = true): string {
  return `${https ? "https" : "http"}://127.0.0.1:${port}${BENCH_PATH}`;
}

/** Whether `body` is the backend's answer, byte for byte. */
export function isBenchBody(body: Buffer): boolean {
  return body.equals(BENCH_BODY);
}
