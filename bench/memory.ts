import { readFileSync, truncateSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import { parseConfig } from "../src/config/load.js";
import { BENCH_PATH, BENCH_TOKEN, STREAM_PATH } from "./lib/fixture.js";
import type { Flags } from "./lib/flags.js";
import { defaultTool, runLoad } from "./lib/load.js";
import { rssBytes } from "./lib/procs.js";
import { describeMachine, fixed, type Machine, machineMarkdown, mib, stamp, writeResults } from "./lib/report.js";
import {
  benchUrl,
  type GatewayRun,
  LOAD_HEADERS,
  openWorkbench,
  startGatewayChild,
  type Workbench,
} from "./lib/setup.js";

// Issue 6, item 3: the gateway's memory, each reading in a fresh gateway process (row c's configuration), RSS read
// from /proc and, "after GC", as the child reports it right after global.gc() (it runs with --expose-gc).

interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export async function runMemory(flags: Flags): Promise<void> {
  const machine = describeMachine(flags.command);
  const engine = flags.engine ?? parseConfig({}).upstream.engine;
  const bench = await openWorkbench();
  try {
    const warmupS = flags.quick ? 1 : 5;
    const idle = await idleConnections(bench, engine, flags.idle, warmupS);
    const stream = await streaming(bench, engine, flags.streamMb * 2 ** 20, warmupS);
    const soak = await soaking(bench, engine, flags.soakS, warmupS, flags);
    const markdown = renderMemory(machine, engine, idle, stream, soak);
    const paths = writeResults(`${stamp(machine)}-memory`, markdown, { machine, engine, idle, stream, soak });
    process.stdout.write(`${markdown}\nwritten: ${paths.join(", ")}\n`);
  } finally {
    await bench.stopAll();
  }
}

async function gatewayFor(bench: Workbench, name: string, engine: string, limits: Record<string, number> = {}) {
  return startGatewayChild(
    bench,
    name,
    { engine, logLevel: "info", redisUrl: bench.redis.url, limits },
    {
      execArgv: ["--expose-gc"],
    },
  );
}

async function warm(run: GatewayRun, seconds: number): Promise<void> {
  await runLoad(defaultTool(), {
    url: benchUrl(run.child.port),
    connections: 10,
    durationS: seconds,
    headers: LOAD_HEADERS,
  });
  truncateSync(run.logFile, 0);
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- idle TLS connections --------------------------------------------------------------------------------------

interface IdleResult {
  readonly asked: number;
  readonly opened: number;
  readonly failed: number;
  readonly openAtGateway: number;
  readonly openSeconds: number;
  readonly before: Memory;
  readonly withOpen: Memory;
  readonly afterClose: Memory;
  readonly fdLimit: number;
}

/** The soft limit on open files, which both this process and the gateway need one per connection of. */
function fdLimit(): number {
  const match = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  return match === null ? 1024 : Number(match[1]);
}

async function idleConnections(bench: Workbench, engine: string, asked: number, warmupS: number) {
  // keep-alive connections are closed after 5 s idle by default: long enough here to open them all and measure
  const run = await gatewayFor(bench, "memory-idle", engine, { keepAliveTimeoutMs: 600_000 });
  const limit = fdLimit();
  const target = Math.min(asked, limit - 256);
  process.stderr.write(`memory: opening ${target} idle TLS connections (asked ${asked}, fd limit ${limit})\n`);
  await warm(run, warmupS);
  const before = await run.child.ask<Memory>("memory");
  const sockets: TLSSocket[] = [];
  let failed = 0;
  const started = Date.now();
  const deadline = started + 180_000;
  try {
    // 100 handshakes at a time: the gateway answers each with one request, then the connection stays idle
    let next = 0;
    const worker = async () => {
      while (next < target && Date.now() < deadline) {
        next++;
        try {
          sockets.push(await openUsedConnection(run.child.port));
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));
    const openSeconds = (Date.now() - started) / 1000;
    await settle(2_000);
    const withOpen = await run.child.ask<Memory>("memory");
    const { connections } = await run.child.ask<{ connections: number }>("stats");
    for (const socket of sockets) socket.destroy();
    sockets.length = 0;
    await settle(3_000);
    const afterClose = await run.child.ask<Memory>("memory");
    await run.child.stop();
    const opened = target - failed;
    return {
      asked,
      opened,
      failed,
      openAtGateway: connections,
      openSeconds,
      before,
      withOpen,
      afterClose,
      fdLimit: limit,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

/** A TLS connection that carried one keep-alive request and now sits idle, as a client pool leaves it. */
function openUsedConnection(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    socket.setTimeout(20_000, () => socket.destroy(new Error("timeout")));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const head = received.subarray(0, headEnd).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      if (!head.startsWith("HTTP/1.1 200")) return socket.destroy(new Error(head.split("\r\n")[0]));
      resolve(socket);
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => reject(new Error("closed")));
    socket.once("secureConnect", () => {
      socket.write(`GET ${BENCH_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Vault-Token: ${BENCH_TOKEN}\r\n\r\n`);
    });
  });
}

// --- a large response streaming through -------------------------------------------------------------------------

interface StreamResult {
  readonly client: string;
  readonly bytes: number;
  readonly received: number;
  readonly seconds: number;
  readonly before: Memory;
  readonly peakRss: number;
  /** The most the gateway's ArrayBuffers (socket chunks among them, live or awaiting GC) held at once. */
  readonly peakArrayBuffers: number;
  /** Slow client only: the gateway's memory after a GC half-way through, i.e. what it really holds mid-stream. */
  readonly midStream?: Memory;
  readonly after: Memory;
}

async function streaming(bench: Workbench, engine: string, bytes: number, warmupS: number): Promise<StreamResult[]> {
  const results: StreamResult[] = [];
  // a client as fast as the machine, then one reading 4 MiB/s: a proxy that ignores backpressure buffers the rest
  for (const [client, bytesPerSecond] of [
    ["fast", Number.POSITIVE_INFINITY],
    ["slow (4 MiB/s)", 4 * 2 ** 20],
  ] as const) {
    const run = await gatewayFor(bench, `memory-stream-${results.length}`, engine);
    await warm(run, warmupS);
    const before = await run.child.ask<Memory>("memory");
    let peakRss = rssBytes(run.child.pid);
    let peakArrayBuffers = before.arrayBuffers;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(run.child.pid));
    }, 20);
    const peeker = setInterval(() => {
      run.child.ask<Memory>("peek").then(
        (m) => {
          peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
        },
        () => {},
      );
    }, 100);
    const started = Date.now();
    let received = 0;
    let midStream: Memory | undefined;
    // half-way through the slow download: a GC, then what is still held is what the gateway buffers
    const midTimer = Number.isFinite(bytesPerSecond)
      ? setTimeout(
          () => {
            run.child.ask<Memory>("memory").then(
              (m) => {
                midStream = m;
              },
              () => {},
            );
          },
          (bytes / bytesPerSecond / 2) * 1000,
        )
      : undefined;
    try {
      received = await download(`https://127.0.0.1:${run.child.port}${STREAM_PATH}?bytes=${bytes}`, bytesPerSecond);
    } finally {
      clearInterval(sampler);
      clearInterval(peeker);
      clearTimeout(midTimer);
    }
    const seconds = (Date.now() - started) / 1000;
    peakRss = Math.max(peakRss, rssBytes(run.child.pid));
    const after = await run.child.ask<Memory>("memory");
    await run.child.stop();
    results.push({
      client,
      bytes,
      received,
      seconds,
      before,
      peakRss,
      peakArrayBuffers,
      after,
      ...(midStream === undefined ? {} : { midStream }),
    });
    process.stderr.write(`memory: ${client} stream of ${mib(bytes)}: peak RSS +${mib(peakRss - before.rss)}\n`);
  }
  return results;
}

/** Reads the whole body at most `bytesPerSecond`; resolves with the byte count. Gives up after 120 s. */
function download(url: string, bytesPerSecond: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { headers: LOAD_HEADERS, rejectUnauthorized: false, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (!Number.isFinite(bytesPerSecond)) return;
        res.pause();
        setTimeout(() => res.resume(), (chunk.length / bytesPerSecond) * 1000);
      });
      res.on("end", () => resolve(received));
      res.on("error", reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error("stream: no progress for 120 s")));
    req.on("error", reject);
    req.end();
  });
}

// --- many requests -----------------------------------------------------------------------------------------------

interface SoakPhase {
  readonly phase: string;
  readonly requests: number;
  readonly memory: Memory;
  readonly peakRss: number;
}

async function soaking(bench: Workbench, engine: string, seconds: number, warmupS: number, flags: Flags) {
  const run = await gatewayFor(bench, "memory-soak", engine);
  await warm(run, warmupS);
  const phases: SoakPhase[] = [
    { phase: "after warm-up", requests: 0, memory: await run.child.ask<Memory>("memory"), peakRss: 0 },
  ];
  let total = 0;
  // two halves: a leak grows RSS in both by about the same amount; a settled heap stays flat in the second
  for (const half of ["after the first half", "after all"]) {
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(run.child.pid));
    }, 500);
    try {
      const result = await runLoad(flags.tool, {
        url: benchUrl(run.child.port),
        connections: 50,
        durationS: Math.max(1, Math.round(seconds / 2)),
        headers: LOAD_HEADERS,
      });
      if (result.non2xx + result.errors > 0) {
        process.stderr.write(`memory: soak had ${result.non2xx} non-2xx and ${result.errors} errors\n`);
      }
      total += result.requests;
    } finally {
      clearInterval(sampler);
    }
    truncateSync(run.logFile, 0);
    await settle(1_000);
    phases.push({ phase: half, requests: total, memory: await run.child.ask<Memory>("memory"), peakRss });
    process.stderr.write(`memory: soak ${half}: ${total} requests\n`);
  }
  await run.child.stop();
  return phases;
}

// --- report ------------------------------------------------------------------------------------------------------

function renderMemory(
  machine: Machine,
  engine: string,
  idle: IdleResult,
  stream: readonly StreamResult[],
  soak: readonly SoakPhase[],
): string {
  const per = (bytes: number, n: number) => (n > 0 ? `${fixed(bytes / n / 1024, 1)} KiB` : "–");
  const first = soak[0] as SoakPhase;
  const last = soak[soak.length - 1] as SoakPhase;
  return [
    `# Portcullis memory — ${machine.date.slice(0, 10)}`,
    "",
    machineMarkdown(machine),
    `- gateway: row (c)'s configuration (TLS, token auth from its cache, Redis limit, access log to a file), engine ${engine}, ` +
      'a fresh process per measurement, started with --expose-gc; "after GC" readings are taken right after global.gc().',
    "",
    "## Idle TLS connections",
    "",
    "Each connection made one keep-alive request, then stayed idle (the gateway's keepAliveTimeoutMs raised to 600 s so " +
      `none closed while the rest opened). fd soft limit ${idle.fdLimit}.`,
    "",
    "| asked | opened | open at the gateway | RSS after GC, before | with them open | per connection | heap+external per connection | after closing them |",
    "|---|---|---|---|---|---|---|---|",
    `| ${idle.asked} | ${idle.opened} (${idle.failed} failed, ${fixed(idle.openSeconds, 0)} s) | ${idle.openAtGateway} | ` +
      `${mib(idle.before.rss)} | ${mib(idle.withOpen.rss)} | ${per(idle.withOpen.rss - idle.before.rss, idle.opened)} | ` +
      `${per(idle.withOpen.heapUsed + idle.withOpen.external - idle.before.heapUsed - idle.before.external, idle.opened)} | ` +
      `${mib(idle.afterClose.rss)} |`,
    "",
    "## A large response streaming through",
    "",
    "The backend writes 64 KiB chunks and waits for 'drain'; RSS of the gateway sampled every 20 ms from /proc, its " +
      "ArrayBuffers (process.memoryUsage without a GC: socket chunks held or awaiting collection) every 100 ms.",
    "",
    "| client | size | received | time | RSS after GC, before | peak RSS | growth (peak − before) | peak ArrayBuffers (no GC) | ArrayBuffers after a GC mid-stream | RSS after GC, after |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...stream.map(
      (s) =>
        `| ${s.client} | ${mib(s.bytes)} | ${s.received === s.bytes ? "all" : `${s.received} B`} | ${fixed(s.seconds, 1)} s | ` +
        `${mib(s.before.rss)} | ${mib(s.peakRss)} | ${mib(s.peakRss - s.before.rss)} | ${mib(s.peakArrayBuffers)} | ` +
        `${s.midStream === undefined ? "–" : mib(s.midStream.arrayBuffers)} | ${mib(s.after.rss)} |`,
    ),
    "",
    "## Many requests",
    "",
    `wrk, 50 connections, in two halves; ${last.requests.toLocaleString("en")} requests in all.`,
    "",
    "| phase | requests so far | RSS after GC | heap used | external | peak RSS during the phase |",
    "|---|---|---|---|---|---|",
    ...soak.map(
      (p) =>
        `| ${p.phase} | ${p.requests.toLocaleString("en")} | ${mib(p.memory.rss)} | ${mib(p.memory.heapUsed)} | ` +
        `${mib(p.memory.external)} | ${p.peakRss > 0 ? mib(p.peakRss) : "–"} |`,
    ),
    "",
    `RSS after all vs after warm-up: ${mib(last.memory.rss - first.memory.rss)}; heap used: ${mib(last.memory.heapUsed - first.memory.heapUsed)}.`,
    "",
  ].join("\n");
}
