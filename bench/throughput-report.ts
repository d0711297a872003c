import type { Flags } from "./lib/flags.js";
import type { LoadResult } from "./lib/load.js";
import { fixed, kilo, type Machine, machineMarkdown, median, signedFixed } from "./lib/report.js";

export interface Row {
  readonly id: string;
  readonly label: string;
  readonly usesRedis: boolean;
  readonly engine?: string;
}

export interface Sample extends LoadResult {
  readonly row: string;
  readonly connections: number;
  readonly repeat: number;
  /** CPU of the row's process tree (the backend's for row a) per response. */
  readonly cpuUsPerReq: number;
  /** CPU of redis-server per response (idle background work included, a fraction of a µs). */
  readonly redisUsPerReq: number;
  /** Every command Redis ran per response, those a script calls included. */
  readonly redisCmdsPerReq: number;
  /** EVAL/EVALSHA per response: the round trips a limiter made, if it sends nothing else. */
  readonly redisScriptsPerReq: number;
  /** Cross-CPU wake-up interrupts per response, machine-wide (absent from runs before it was measured). */
  readonly interruptsPerReq?: number;
  /** Share of the machine's CPU time used by processes that are not this run's, during the measured window. */
  readonly neighbourShare: number;
  /** Share the hypervisor stole. */
  readonly stealShare: number;
  readonly logBytesPerReq?: number;
}

export interface Cell {
  readonly row: string;
  readonly connections: number;
  readonly runs: number;
  readonly rps: number;
  readonly rpsMin: number;
  readonly rpsMax: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number;
  readonly interruptsPerReq: number;
  readonly redisUsPerReq: number;
  readonly redisCmdsPerReq: number;
  readonly redisScriptsPerReq: number;
  readonly logBytesPerReq: number;
  readonly failures: number;
  readonly requests: number;
}

/** Medians per row and concurrency (min–max for req/s). */
export function aggregate(rows: readonly Row[], samples: readonly Sample[], connections: readonly number[]): Cell[] {
  const cells: Cell[] = [];
  for (const c of connections) {
    for (const row of rows) {
      const mine = samples.filter((s) => s.row === row.id && s.connections === c);
      if (mine.length === 0) continue;
      const rps = mine.map((s) => s.rps);
      cells.push({
        row: row.id,
        connections: c,
        runs: mine.length,
        rps: median(rps),
        rpsMin: Math.min(...rps),
        rpsMax: Math.max(...rps),
        p50Ms: median(mine.map((s) => s.p50Ms)),
        p99Ms: median(mine.map((s) => s.p99Ms)),
        cpuUsPerReq: median(mine.map((s) => s.cpuUsPerReq)),
        interruptsPerReq: median(mine.map((s) => s.interruptsPerReq ?? Number.NaN)),
        redisUsPerReq: median(mine.map((s) => s.redisUsPerReq)),
        redisCmdsPerReq: median(mine.map((s) => s.redisCmdsPerReq)),
        redisScriptsPerReq: median(mine.map((s) => s.redisScriptsPerReq)),
        logBytesPerReq: median(mine.map((s) => s.logBytesPerReq ?? Number.NaN)),
        failures: mine.reduce((sum, s) => sum + s.non2xx + s.errors, 0),
        requests: mine.reduce((sum, s) => sum + s.requests, 0),
      });
    }
  }
  return cells;
}

interface RenderInput {
  readonly machine: Machine;
  readonly flags: Flags;
  readonly rows: readonly Row[];
  readonly summary: readonly Cell[];
  readonly samples: readonly Sample[];
  readonly notes: readonly string[];
  readonly defaultEngine: string;
}

export function renderThroughput(input: RenderInput): string {
  const { machine, flags, rows, summary, notes } = input;
  const find = (row: string, c: number) => summary.find((cell) => cell.row === row && cell.connections === c);
  const ratio = (a: Cell | undefined, b: Cell | undefined) =>
    a === undefined || b === undefined ? "–" : `${(a.rps / b.rps).toFixed(2)}×`;
  const out: string[] = [
    `# Portcullis throughput bench — ${machine.date.slice(0, 10)}`,
    "",
    machineMarkdown(machine),
    `- method: ${flags.repeats} interleaved round(s); each row and concurrency gets ${flags.warmupS} s of warm-up, then ` +
      `${flags.durationS} s measured; ${flags.tool}${flags.tool === "wrk" ? " -t1" : ""}, keep-alive, ` +
      "`GET /v1/secret/data/bench` with `X-Vault-Token`; the backend answers 133 bytes of JSON. " +
      "Medians over rounds; req/s min–max in brackets. CPU is the row's process tree (utime+stime from /proc) over the " +
      "measured window, per response; the load generator shares the 2 cores, so only ratios and CPU per request carry over.",
    noise(input.samples),
    "",
  ];
  for (const c of flags.connections) {
    out.push(
      `## ${c} connections`,
      "",
      "| row | setup | req/s median (min–max) | p50 ms | p99 ms | CPU µs/req | wake-up IPIs/req | Redis µs/req · scripts/req · cmds/req | vs (b) floor | vs (e) peer |",
      "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const row of rows) {
      const cell = find(row.id, c);
      if (cell === undefined) continue;
      const redis = row.usesRedis
        ? `${fixed(cell.redisUsPerReq, 1)} · ${fixed(cell.redisScriptsPerReq, 2)} · ${fixed(cell.redisCmdsPerReq, 2)}`
        : "–";
      const warn = cell.failures > 0 ? ` ⚠ ${cell.failures} failed of ${cell.requests}` : "";
      out.push(
        `| ${row.id} | ${row.label} | ${kilo(cell.rps)} (${kilo(cell.rpsMin)}–${kilo(cell.rpsMax)})${warn} | ` +
          `${fixed(cell.p50Ms, 2)} | ${fixed(cell.p99Ms, 2)} | ${fixed(cell.cpuUsPerReq, 1)} | ` +
          `${fixed(cell.interruptsPerReq, 2)} | ${redis} | ` +
          `${ratio(cell, find("b", c))} | ${ratio(cell, find("e", c))} |`,
      );
    }
    out.push("");
  }
  out.push(...doneWhen(input, find), "");
  const logged = summary.filter((cell) => Number.isFinite(cell.logBytesPerReq));
  if (logged.length > 0) {
    const perRow = [...new Set(logged.map((cell) => cell.row))].map(
      (row) => `${row} ${fixed(median(logged.filter((c) => c.row === row).map((c) => c.logBytesPerReq)), 0)} B`,
    );
    out.push(`Access log written per request (to a file, truncated between measurements): ${perRow.join(", ")}.`, "");
  }
  if (notes.length > 0) out.push("## Notes", "", ...notes.map((note) => `- ${note}`), "");
  return out.join("\n");
}

/** How busy the shared machine was with other people's work while we measured. */
function noise(samples: readonly Sample[]): string {
  const pct = (v: number) => `${(v * 100).toFixed(0)} %`;
  const others = samples.map((s) => s.neighbourShare);
  const steal = samples.map((s) => s.stealShare);
  const busy = median(others) > 0.2;
  return (
    `- noise: processes not of this run used a median ${pct(median(others))} (max ${pct(Math.max(...others))}) of ` +
    `the machine's CPU during the measured windows; the hypervisor stole a median ${pct(median(steal))}.` +
    (busy
      ? " ⚠ The machine was busy with other work: CPU per request is inflated (cache and core sharing) and ratios " +
        "between rows wander from round to round; rerun on a quiet machine before drawing conclusions."
      : "")
  );
}

type Finder = (row: string, c: number) => Cell | undefined;

/**
 * The rate limit's CPU per request against the floor's one EVALSHA, read within each round: (c − d) − (b − b0) of
 * the same round, whose rows ran minutes apart at most. This VM's speed drifts by up to 2× between minutes, which
 * moves the medians of separate rows by more than the few µs in question; rows of one round share the drift.
 * Undefined when no round has all four rows.
 */
export function limitCostByRound(
  samples: readonly Sample[],
  engine: string,
  connections: number,
): { excess: number[]; limit: number[]; evalsha: number[] } | undefined {
  const cpu = (row: string, repeat: number) =>
    samples.find((s) => s.row === row && s.connections === connections && s.repeat === repeat)?.cpuUsPerReq;
  const excess: number[] = [];
  const limit: number[] = [];
  const evalsha: number[] = [];
  for (const repeat of new Set(samples.map((s) => s.repeat))) {
    const [b0, b, c, d] = ["b0", "b", `c-${engine}`, `d-${engine}`].map((row) => cpu(row, repeat));
    if (b0 === undefined || b === undefined || c === undefined || d === undefined) continue;
    limit.push(c - d);
    evalsha.push(b - b0);
    excess.push(c - d - (b - b0));
  }
  return excess.length === 0 ? undefined : { excess, limit, evalsha };
}

/** The "done when" lines that one run can decide, each with its numbers. */
function doneWhen(input: RenderInput, find: Finder): string[] {
  const { defaultEngine, flags } = input;
  const lines: string[] = ["## Issue 6 targets (this run)", ""];
  const mark = (ok: boolean) => (ok ? "✓" : "✗");
  const gateway = `c-${defaultEngine}`;
  for (const [c, want] of [
    [50, 1.3],
    [10, 1.0],
  ] as const) {
    const mine = find(gateway, c);
    const peer = find("e", c);
    if (mine === undefined || peer === undefined) continue;
    const r = mine.rps / peer.rps;
    lines.push(
      `- ${mark(r >= want && mine.p99Ms <= peer.p99Ms)} default engine (${defaultEngine}) vs the peer at c${c}: ` +
        `${r.toFixed(2)}× req/s (want ≥ ${want.toFixed(1)}×), p99 ${fixed(mine.p99Ms, 2)} vs ${fixed(peer.p99Ms, 2)} ms (want ≤)`,
    );
  }
  for (const c of flags.connections) {
    const mine = find("c-http-proxy", c);
    const floor = find("b", c);
    if (mine === undefined || floor === undefined) continue;
    const r = mine.rps / floor.rps;
    lines.push(`- ${mark(r >= 0.85)} http-proxy engine vs the floor at c${c}: ${r.toFixed(2)}× (want ≥ 0.85×)`);
  }
  for (const c of flags.connections) {
    const floor = find("b", c);
    if (floor === undefined) continue;
    for (const engine of ["http-proxy", "undici"]) {
      const on = find(`c-${engine}`, c);
      const cost = limitCostByRound(input.samples, engine, c);
      if (on === undefined || cost === undefined) continue;
      const { excess, limit, evalsha } = cost;
      const excessMedian = median(excess);
      const evalshaMedian = median(evalsha);
      const spread = `rounds ${excess.map((x) => signedFixed(x, 1)).join(", ")}`;
      const numbers =
        `${signedFixed(excessMedian, 1)} µs/req above the floor's EVALSHA (${spread}; want ≤ +2): the limit ` +
        `${signedFixed(median(limit), 1)} µs (c − d), the floor's EVALSHA ${signedFixed(evalshaMedian, 1)} µs (b − b0), ` +
        `medians of the rounds`;
      const trips =
        `${fixed(on.redisScriptsPerReq, 2)} scripts/req and ${fixed(on.redisCmdsPerReq, 2)} commands/req, the ` +
        `script's own included (the floor: ${fixed(floor.redisCmdsPerReq, 2)}; want one round trip)`;
      if (evalshaMedian <= 0) {
        lines.push(
          `- ? rate limit cost, ${engine}, c${c}: ${numbers}: the noise exceeds the effect, no verdict; ${trips}`,
        );
        continue;
      }
      lines.push(
        `- ${mark(excessMedian <= 2 && on.redisScriptsPerReq <= 1.01)} rate limit cost, ${engine}, c${c}: ` +
          `${numbers}; ${trips}`,
      );
    }
  }
  if (lines.length === 2) lines.push("- (not enough rows in this run to decide any)");
  return lines;
}
