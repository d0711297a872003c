import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { register, stopByPid } from "./procs.js";

// The load generator: wrk when installed (one thread, C code, lighter on the shared cores), else autocannon from
// npm, run in this process. Every run is bounded by its duration; wrk is SIGKILLed by PID if it overstays.

export type LoadTool = "wrk" | "autocannon";

export const WRK_BIN = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((bin) => existsSync(bin));

export function defaultTool(): LoadTool {
  return WRK_BIN === undefined ? "autocannon" : "wrk";
}

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly durationS: number;
  readonly headers: Record<string, string>;
}

export interface LoadResult {
  /** Responses completed within the duration. */
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Responses with a status outside 2xx/3xx. */
  readonly non2xx: number;
  /** Connect, read, write errors and timeouts. */
  readonly errors: number;
}

export function runLoad(tool: LoadTool, options: LoadOptions): Promise<LoadResult> {
  return tool === "wrk" ? runWrk(options) : runAutocannon(options);
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  if (WRK_BIN === undefined) throw new Error("wrk is not installed");
  const args = ["-t1", `-c${options.connections}`, `-d${options.durationS}s`, "--latency", "--timeout", "5s"];
  for (const [name, value] of Object.entries(options.headers)) args.push("-H", `${name}: ${value}`);
  args.push(options.url);
  const child = spawn(WRK_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error("wrk: could not spawn");
  register(child.pid, "wrk");
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  const overstay = setTimeout(() => void stopByPid(child, "SIGKILL"), (options.durationS + 15) * 1000);
  await stopByPid(child, null, (options.durationS + 20) * 1000);
  clearTimeout(overstay);
  return parseWrk(out);
}

/** Reads wrk's --latency report. */
export function parseWrk(out: string): LoadResult {
  const requests = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (requests === null || rps === null) throw new Error(`wrk: unexpected output:\n${out}`);
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return match === null ? Number.NaN : toMs(Number(match[1]), match[2] as string);
  };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  return {
    requests: Number(requests[1]),
    durationS: toMs(Number(requests[2]), requests[3] as string) / 1000,
    rps: Number(rps[1]),
    p50Ms: percentile("50"),
    p99Ms: percentile("99"),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    errors,
  };
}

function toMs(value: number, unit: string): number {
  switch (unit) {
    case "us":
      return value / 1000;
    case "ms":
      return value;
    case "s":
      return value * 1000;
    default:
      return value * 60_000; // "m"
  }
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  // autocannon ships no types; it is a dev dependency used only here
  const moduleName = "autocannon";
  const { default: autocannon } = (await import(moduleName)) as {
    default: (opts: Record<string, unknown>) => Promise<AutocannonResult>;
  };
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    headers: options.headers,
    pipelining: 1,
  });
  return {
    requests: result.requests.total,
    durationS: result.duration,
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
