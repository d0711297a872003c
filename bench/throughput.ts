import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseConfig } from "../src/config/load.js";
import type { GatewayChildOptions } from "./gateway.js";
import type { Flags } from "./lib/flags.js";
import { runLoad } from "./lib/load.js";
import { NGINX_BIN, startNginx } from "./lib/nginx.js";
import { benchScript, type StartChildOptions, startNodeChild } from "./lib/node-child.js";
import { probe } from "./lib/probe.js";
import {
  benchCpuUs,
  cpuBetween,
  cpuSnapshot,
  crossCpuInterrupts,
  hostLoad,
  hostTicks,
  ticksToUs,
} from "./lib/procs.js";
import { describeMachine, type Machine, RESULTS_DIR, stamp, writeResults } from "./lib/report.js";
import { benchUrl, isBenchBody, LOAD_HEADERS, openWorkbench, startGatewayChild, type Workbench } from "./lib/setup.js";
import { aggregate, type Row, renderThroughput, type Sample } from "./throughput-report.js";

export const ENGINES = ["http-proxy", "undici"] as const;
export const ALL_ROWS = [
  "a",
  "b0",
  "b",
  ...ENGINES.map((e) => `c-${e}`),
  ...ENGINES.map((e) => `d-${e}`),
  "e",
  "f",
  "g",
];

export interface LiveRow extends Row {
  readonly url: string;
  readonly pid: number;
  readonly logFile?: string;
  /** Extra checks after the probes (e.g. that the configured engine really forwards). */
  readonly verify?: () => Promise<string | undefined>;
}

/** The interleaved run of issue 6, item 1: every row, every concurrency, round after round. */
export async function runThroughput(flags: Flags): Promise<void> {
  const listed = flags.rows ?? ALL_ROWS;
  const unknown = listed.filter((row) => !ALL_ROWS.includes(row));
  if (unknown.length > 0) throw new Error(`--rows: unknown ${unknown.join(", ")} (known: ${ALL_ROWS.join(" ")})`);
  const baselines = new Map(flags.baselines.map((dir) => [`c@${basename(resolve(dir))}`, dir]));
  if (baselines.size < flags.baselines.length) throw new Error("--baseline: two directories of the same name");
  const wanted = [...listed, ...baselines.keys()];
  const machine = describeMachine(flags.command);
  const notes: string[] = [];
  const bench = await openWorkbench();
  try {
    const rows = await startRows(bench, wanted, notes, baselines, flags.engine);
    const samples = await measureAll(flags, bench, rows, machine);
    const defaultEngine = parseConfig({}).upstream.engine;
    const summary = aggregate(rows, samples, flags.connections);
    const markdown = renderThroughput({ machine, flags, rows, summary, samples, notes, defaultEngine });
    const paths = writeResults(stamp(machine), markdown, {
      machine,
      flags,
      defaultEngine,
      rows,
      notes,
      summary,
      samples,
    });
    rmSync(partialPath(machine), { force: true });
    process.stdout.write(`${markdown}\nwritten: ${paths.join(", ")}\n`);
  } finally {
    await bench.stopAll();
  }
}

/** Rewrites the Markdown of a finished run from its JSON, with the current report code. */
export async function renderAgain(file: string): Promise<void> {
  const data = JSON.parse(readFileSync(file, "utf8")) as {
    machine: Machine;
    flags: Flags;
    rows: Row[];
    notes: string[];
    samples: Sample[];
    defaultEngine?: string;
  };
  const summary = aggregate(data.rows, data.samples, data.flags.connections);
  const defaultEngine = data.defaultEngine ?? parseConfig({}).upstream.engine;
  const markdown = renderThroughput({ ...data, summary, defaultEngine });
  const target = file.replace(/\.json$/, ".md");
  writeFileSync(target, markdown);
  process.stdout.write(`${markdown}\nwritten: ${target}\n`);
}

function partialPath(machine: Machine): string {
  return join(RESULTS_DIR, `${stamp(machine)}.partial.json`);
}

/** How the Node rows' processes start: under a wrapper such as callgrind, with V8 flags. */
export type RowStart = Pick<StartChildOptions, "wrapper" | "execArgv" | "readyTimeoutMs"> & {
  /** How long each probe may take (default 5 s): a row under valgrind is ~50× slower. */
  readonly probeTimeoutMs?: number;
  /** Options of every Portcullis row (c, d, baselines), e.g. limits. */
  readonly gateway?: Pick<GatewayChildOptions, "limits" | "redisCommandTimeoutMs">;
};

/** Starts the `wanted` rows, each probed; a row that fails to start or answer is left out with a note. */
export async function startRows(
  bench: Workbench,
  wanted: readonly string[],
  notes: string[],
  baselines: ReadonlyMap<string, string>,
  baselineEngine: string = parseConfig({}).upstream.engine,
  start: RowStart = {},
): Promise<LiveRow[]> {
  const rows: LiveRow[] = [];
  const tls = { certFile: bench.certFile, keyFile: bench.keyFile };
  const attempt = async (id: string, start: () => Promise<LiveRow>) => {
    if (!wanted.includes(id)) return;
    try {
      rows.push(await start());
    } catch (error) {
      notes.push(`row ${id} skipped: ${firstLine(error)}`);
    }
  };

  await attempt("a", async () => ({
    id: "a",
    label: "backend direct (Node http, 133-byte JSON, plain HTTP)",
    url: benchUrl(bench.backend.port, false),
    pid: bench.backend.pid,
    usesRedis: false,
  }));
  for (const [id, redisUrl] of [
    ["b0", undefined],
    ["b", bench.redis.url],
  ] as const) {
    await attempt(id, async () => {
      const options = { backendUrl: bench.backendUrl, ...tls, ...(redisUrl === undefined ? {} : { redisUrl }) };
      const child = await startNodeChild(`floor-${id}`, benchScript("floor.js"), options, start);
      bench.onStop(() => child.stop());
      return {
        id,
        label:
          redisUrl === undefined
            ? "floor without Redis: node:https + http-proxy, keep-alive agent"
            : "**floor**: node:https + http-proxy, keep-alive agent, 1 EVALSHA (GCRA) per request",
        url: benchUrl(child.port),
        pid: child.pid,
        usesRedis: redisUrl !== undefined,
      };
    });
  }
  // each engine's c and d side by side: the limit's cost is read from their difference within a round
  for (const engine of ENGINES) {
    for (const limited of [true, false]) {
      const id = `${limited ? "c" : "d"}-${engine}`;
      await attempt(id, async () => {
        const run = await startGatewayChild(
          bench,
          id,
          { ...start.gateway, engine, logLevel: "info", ...(limited ? { redisUrl: bench.redis.url } : {}) },
          start,
        );
        return {
          id,
          label: limited
            ? `**Portcullis**, all on (TLS, cached token auth, Redis limit, errors, access log), engine ${engine}`
            : `Portcullis without the rate limit, engine ${engine}`,
          url: benchUrl(run.child.port),
          pid: run.child.pid,
          usesRedis: limited,
          logFile: run.logFile,
          engine,
          verify: async () => {
            const { undiciRequests } = await run.child.ask<{ undiciRequests: number }>("stats");
            // the probes made 2 forwarded requests: undici must have made them, or must not have been involved
            if (engine === "undici" && undiciRequests === 0) {
              return "config accepted upstream.engine undici, but requests were not forwarded by undici (engine not wired yet?)";
            }
            if (engine !== "undici" && undiciRequests > 0) return `undici made ${undiciRequests} requests`;
            return undefined;
          },
        };
      });
    }
  }
  for (const [id, dir] of baselines) {
    await attempt(id, async () => {
      const script = resolve(dir, "dist/bench/gateway.js");
      if (!existsSync(script))
        throw new Error(
          `${script} does not exist: build it there (npx tsc -p tsconfig.bench.json, with node_modules installed or linked)`,
        );
      const options = { ...start.gateway, engine: baselineEngine, logLevel: "info", redisUrl: bench.redis.url };
      const run = await startGatewayChild(bench, id, options, { ...start, script });
      return {
        id,
        label: `row (c), engine ${baselineEngine}, built in ${dir} (${describeCheckout(dir)})`,
        url: benchUrl(run.child.port),
        pid: run.child.pid,
        usesRedis: true,
        logFile: run.logFile,
        engine: baselineEngine,
      };
    });
  }
  // the rows of one Node script each, with Redis
  for (const [id, name, label] of [
    [
      "e",
      "peer",
      "**Node peer**: fastify 5 + @fastify/http-proxy (undici) + token Map check + @fastify/rate-limit (Redis)",
    ],
    ["g", "minimal", "the least on undici: node:https + undici Pool.dispatch, 1 EVALSHA (GCRA) per request"],
  ] as const) {
    await attempt(id, async () => {
      const options = { backendUrl: bench.backendUrl, ...tls, redisUrl: bench.redis.url };
      const child = await startNodeChild(name, benchScript(`${name}.js`), options, start);
      bench.onStop(() => child.stop());
      return { id, label, url: benchUrl(child.port), pid: child.pid, usesRedis: true };
    });
  }
  if (wanted.includes("f") && NGINX_BIN === undefined) notes.push("row f skipped: nginx is not installed");
  else {
    await attempt("f", async () => {
      const nginx = await startNginx(join(bench.dir, "nginx"), { backendPort: bench.backend.port, ...tls });
      bench.onStop(() => nginx.stop());
      return {
        id: "f",
        label: "nginx: TLS reverse proxy, keep-alive upstream, 1 worker, access log",
        url: benchUrl(nginx.port),
        pid: nginx.pid,
        usesRedis: false,
        logFile: nginx.accessLog,
      };
    });
  }

  // every row must answer what the backend answers; rows with auth must refuse a wrong token
  const checked: LiveRow[] = [];
  for (const row of rows) {
    const problem = await check(bench, row, start.probeTimeoutMs).catch((error: unknown) => firstLine(error));
    if (problem === undefined) checked.push(row);
    else notes.push(`row ${row.id} skipped: ${problem}`);
  }
  return checked;
}

async function check(bench: Workbench, row: LiveRow, timeoutMs?: number): Promise<string | undefined> {
  const ca = {
    ...(row.url.startsWith("https:") ? { ca: bench.ca } : {}),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
  const ok = await probe({ url: row.url, headers: LOAD_HEADERS, ...ca });
  if (ok.status !== 200 || !isBenchBody(ok.body)) return `answered ${ok.status} ${ok.body.toString().slice(0, 200)}`;
  if (/^c[-@]/.test(row.id) && ok.headers["ratelimit-policy"] === undefined) return "no RateLimit-Policy header";
  if (/^[cde]/.test(row.id)) {
    const denied = await probe({ url: row.url, headers: { "x-vault-token": "hvs.wrong" }, ...ca });
    if (denied.status < 400) return `a wrong token got ${denied.status}`;
  }
  return row.verify?.();
}

async function measureAll(flags: Flags, bench: Workbench, rows: LiveRow[], machine: Machine): Promise<Sample[]> {
  const samples: Sample[] = [];
  const total = flags.repeats * flags.connections.length * rows.length;
  const perRun = flags.warmupS + flags.durationS + 1;
  process.stderr.write(
    `bench: ${rows.map((r) => r.id).join(" ")} × c${flags.connections.join(",")} × ${flags.repeats} rounds ` +
      `of ${flags.warmupS} s + ${flags.durationS} s: about ${Math.ceil((total * perRun) / 60)} min\n`,
  );
  mkdirSync(RESULTS_DIR, { recursive: true });
  let done = 0;
  for (let repeat = 1; repeat <= flags.repeats; repeat++) {
    for (const connections of flags.connections) {
      for (const row of rows) {
        done++;
        const sample = await measure(flags, bench, row, connections, repeat);
        samples.push(sample);
        writeFileSync(partialPath(machine), JSON.stringify({ machine, samples }, null, 2));
        process.stderr.write(
          `[${String(done).padStart(3)}/${total}] r${repeat} c${connections} ${row.id.padEnd(13)} ` +
            `${sample.rps.toFixed(0).padStart(6)} req/s  p99 ${sample.p99Ms.toFixed(2)} ms  ` +
            `${sample.cpuUsPerReq.toFixed(1)} µs/req${sample.non2xx + sample.errors > 0 ? `  ⚠ ${sample.non2xx} non-2xx, ${sample.errors} errors` : ""}\n`,
        );
      }
    }
  }
  return samples;
}

async function measure(
  flags: Flags,
  bench: Workbench,
  row: LiveRow,
  connections: number,
  repeat: number,
): Promise<Sample> {
  const load = { url: row.url, connections, headers: LOAD_HEADERS };
  const warm = await runLoad(flags.tool, { ...load, durationS: flags.warmupS });
  const redis0 = await bench.redis.counters();
  const host0 = hostTicks();
  const interrupts0 = crossCpuInterrupts();
  const ours0 = benchCpuUs();
  const cpu0 = cpuSnapshot(row.pid);
  const redisCpu0 = cpuSnapshot(bench.redis.pid);
  const result = await runLoad(flags.tool, { ...load, durationS: flags.durationS });
  const cpu1 = cpuSnapshot(row.pid);
  const redisCpu1 = cpuSnapshot(bench.redis.pid);
  const ours1 = benchCpuUs();
  const host1 = hostTicks();
  const interrupts1 = crossCpuInterrupts();
  const redis1 = await bench.redis.counters();
  const requests = Math.max(1, result.requests);
  // what the rest of the machine (other users of the shared box) used meanwhile, as a share of all its CPU time
  const machineUs = ticksToUs(host1.total - host0.total);
  const neighbours = (ticksToUs(host1.busy - host0.busy) - (ours1 - ours0)) / machineUs;
  let logBytesPerReq: number | undefined;
  if (row.logFile !== undefined && existsSync(row.logFile)) {
    logBytesPerReq = statSync(row.logFile).size / Math.max(1, warm.requests + result.requests);
    truncateSync(row.logFile, 0); // gigabytes otherwise, over a full run
  }
  return {
    row: row.id,
    connections,
    repeat,
    ...result,
    cpuUsPerReq: cpuBetween(cpu0, cpu1) / requests,
    redisUsPerReq: cpuBetween(redisCpu0, redisCpu1) / requests,
    // minus the INFO of the first reading, counted in the second
    redisCmdsPerReq: (redis1.commands - redis0.commands - 1) / requests,
    redisScriptsPerReq: (redis1.scripts - redis0.scripts) / requests,
    interruptsPerReq: (interrupts1 - interrupts0) / requests,
    neighbourShare: Math.max(0, neighbours),
    stealShare: hostLoad(host0, host1).steal,
    ...(logBytesPerReq === undefined ? {} : { logBytesPerReq }),
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n").slice(0, 3).join(" | ");
}

/** The commit a baseline checkout is at (short hash and subject), or "not a git checkout". */
function describeCheckout(dir: string): string {
  try {
    return execFileSync("git", ["-C", dir, "log", "-1", "--format=%h %s"], { encoding: "utf8" }).trim();
  } catch {
    return "not a git checkout";
  }
}
