import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { type Calibration, type InstructionSample, renderInstructions } from "./instructions-report.js";
import {
  callgrindWrapper,
  dumpCounters,
  type InstructionSplit,
  PREDICTABLE_V8,
  readDump,
  VALGRIND_BIN,
  zeroCounters,
} from "./lib/callgrind.js";
import { type CountedClient, countedClient } from "./lib/count-load.js";
import type { Flags } from "./lib/flags.js";
import { userCpuUs } from "./lib/procs.js";
import { describeMachine, stamp, writeResults } from "./lib/report.js";
import { LOAD_HEADERS, openWorkbench, type Workbench } from "./lib/setup.js";
import { ALL_ROWS, type LiveRow, startRows } from "./throughput.js";

// `npm run bench -- --instructions`: every Node row under valgrind's callgrind, a fixed number of requests counted
// in instructions. CPU time per request of one unchanged row moves by up to 2× on these shared VMs, so a difference
// of a few µs (the rate limit's cost against the floor's one EVALSHA) never gets a verdict from time; instruction
// counts repeat within about ±1 %. They leave out the kernel's work (the syscalls, which every row
// makes alike per request at one connection) and cache misses; the throughput run measures those.

/** Rows that are Node processes of ours to wrap: not (a), the backend, nor (f), nginx. */
const NODE_ROWS = ALL_ROWS.filter((row) => row !== "a" && row !== "f");
/** Idle windows per row: a timer's rare work (a cache refresh) landing in one would count ten times over. */
const IDLE_WINDOWS = 3;
const IDLE_MS = 2_000;
/** After a row's first count, the next ones (another round, another concurrency) are preceded by this many. */
const REWARM_REQUESTS = 500;

export async function runInstructions(flags: Flags): Promise<void> {
  if (VALGRIND_BIN === undefined) throw new Error("--instructions needs valgrind (Debian: apt-get install valgrind)");
  const listed = flags.rows ?? NODE_ROWS;
  const unknown = listed.filter((row) => !NODE_ROWS.includes(row));
  if (unknown.length > 0) throw new Error(`--rows: ${unknown.join(", ")}: not here (rows: ${NODE_ROWS.join(" ")})`);
  const baselines = new Map(flags.baselines.map((dir) => [`c@${basename(resolve(dir))}`, dir]));
  const machine = describeMachine(flags.command);
  const notes: string[] = [];
  const bench = await openWorkbench();
  try {
    const outPrefix = join(bench.dir, "callgrind", "cg");
    mkdirSync(join(bench.dir, "callgrind"));
    process.stderr.write("instructions: starting the rows under callgrind (about 15 s each)\n");
    const rows = await startRows(bench, [...listed, ...baselines.keys()], notes, baselines, flags.engine, {
      wrapper: callgrindWrapper(outPrefix),
      execArgv: PREDICTABLE_V8,
      readyTimeoutMs: 300_000,
      probeTimeoutMs: 120_000,
      // a gateway closes a connection after 1 000 requests by default: a count would pay TLS handshakes the floor
      // and the peer never pay; and a main-thread GC under valgrind can outlast the 250 ms Redis timeout, which
      // would switch the limiter to its local fallback (the report checks one script per request at c1)
      gateway: { limits: { maxRequestsPerSocket: 1_000_000_000 }, redisCommandTimeoutMs: 60_000 },
    });
    const samples = await countAll(flags, bench, rows, outPrefix);
    const calibration = await calibrate(flags, bench, notes);
    const markdown = renderInstructions({ machine, flags, rows, samples, notes, calibration });
    const paths = writeResults(`${stamp(machine)}-instructions`, markdown, {
      machine,
      flags,
      rows,
      notes,
      samples,
      calibration,
    });
    process.stdout.write(`${markdown}\nwritten: ${paths.join(", ")}\n`);
  } finally {
    await bench.stopAll();
  }
}

async function countAll(
  flags: Flags,
  bench: Workbench,
  rows: readonly LiveRow[],
  outPrefix: string,
): Promise<InstructionSample[]> {
  const samples: InstructionSample[] = [];
  const dumps = new Map<number, number>(); // callgrind numbers each process's dumps from 1
  const idleRate = new Map<string, number>(); // instructions per second of a row left alone (its timers)
  const clients = new Map<string, CountedClient>();
  const dump = (row: LiveRow) => {
    const n = (dumps.get(row.pid) ?? 0) + 1;
    dumps.set(row.pid, n);
    return readDump(dumpCounters(outPrefix, row.pid, n));
  };
  try {
    for (let round = 1; round <= flags.repeats; round++) {
      for (const connections of flags.connections) {
        for (const row of rows) {
          const id = `${row.id} c${connections}`;
          const first = !clients.has(id);
          const client =
            clients.get(id) ?? countedClient({ url: row.url, connections, headers: LOAD_HEADERS, ca: bench.ca });
          clients.set(id, client);
          const warmup = first ? flags.warmupRequests : Math.min(REWARM_REQUESTS, flags.warmupRequests);
          process.stderr.write(
            `instructions: round ${round}/${flags.repeats}, c${connections}, ${row.id}: ${warmup} requests of ` +
              `warm-up, ${flags.requests} counted\n`,
          );
          await client.send(warmup);
          const redisBefore = await bench.redis.counters();
          zeroCounters(row.pid);
          const startedAt = performance.now();
          await client.send(flags.requests);
          const wallS = (performance.now() - startedAt) / 1000;
          const split = dump(row);
          const redisAfter = await bench.redis.counters();
          if (!idleRate.has(row.id)) idleRate.set(row.id, await measureIdle(row, dump));
          const idlePerReq = ((idleRate.get(row.id) ?? 0) * wallS) / flags.requests;
          samples.push({
            row: row.id,
            connections,
            repeat: round,
            requests: flags.requests,
            totalPerReq: split.total / flags.requests,
            gcPerReq: split.gc / flags.requests,
            compilePerReq: split.compile / flags.requests,
            idlePerReq,
            workPerReq: (split.total - split.gc - split.compile) / flags.requests - idlePerReq,
            redisScriptsPerReq: (redisAfter.scripts - redisBefore.scripts) / flags.requests,
          });
        }
      }
    }
  } finally {
    for (const client of clients.values()) client.close();
  }
  return samples;
}

/** The least of a few idle windows' instructions per second: the timers' steady work, without a rare event's. */
async function measureIdle(row: LiveRow, dump: (row: LiveRow) => InstructionSplit): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let window = 0; window < IDLE_WINDOWS; window++) {
    zeroCounters(row.pid);
    const from = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const idle = dump(row);
    // what work leaves out (GC, compile) is left out of the idle rate too
    least = Math.min(least, (idle.total - idle.gc - idle.compile) / ((performance.now() - from) / 1000));
  }
  return least;
}

/**
 * The issue states the limit's budget in µs (+2 µs over the floor's EVALSHA): the same requests as row (b0)'s
 * count, run natively on a fresh (b0), give this machine's instructions per µs of user CPU. Time-based, so it
 * wanders with the machine; it only scales the 2 µs allowance, never the comparison itself.
 */
async function calibrate(flags: Flags, bench: Workbench, notes: string[]): Promise<Calibration | undefined> {
  const [native] = await startRows(bench, ["b0"], notes, new Map(), undefined, { execArgv: PREDICTABLE_V8 });
  if (native === undefined) return undefined;
  const connections = flags.connections[0] ?? 1;
  const client = countedClient({ url: native.url, connections, headers: LOAD_HEADERS, ca: bench.ca });
  try {
    await client.send(flags.warmupRequests);
    const before = userCpuUs(native.pid);
    const requests = flags.requests * 5;
    await client.send(requests);
    return { connections, requests, userUsPerReq: (userCpuUs(native.pid) - before) / requests };
  } finally {
    client.close();
  }
}
