import type { Flags } from "./lib/flags.js";
import type { LoadResult } from "./lib/load.js";
import { fixed, kilo, type Machine, machineMarkdown, median } from "./lib/report.js";

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
      "| row | setup | req/s median (min–max) | p50 ms | p99 ms | CPU µs/req | Redis µs/req · scripts/req · cmds/req | vs (b) floor | vs (e) peer |",
      "|---|---|---|---|---|---|---|---|---|",
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
          `${fixed(cell.p50Ms, 2)} | ${fixed(cell.p99Ms, 2)} | ${fixed(cell.cpuUsPerReq, 1)} | ${redis} | ` +
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
    const bare = find("b0", c);
    if (floor === undefined || bare === undefined) continue;
    const evalsha = floor.cpuUsPerReq - bare.cpuUsPerReq;
    for (const engine of ["http-proxy", "undici"]) {
      const on = find(`c-${engine}`, c);
      const off = find(`d-${engine}`, c);
      if (on === undefined || off === undefined) continue;
      const cost = on.cpuUsPerReq - off.cpuUsPerReq;
      if (evalsha <= 0) {
        lines.push(
          `- ? rate limit cost, ${engine}, c${c}: +${fixed(cost, 1)} µs/req, but the floor's EVALSHA measured ` +
            `${fixed(evalsha, 1)} µs: the noise exceeds the effect, no verdict`,
        );
        continue;
      }
      lines.push(
        `- ${mark(cost <= evalsha + 2 && on.redisScriptsPerReq <= 1.01)} rate limit cost, ${engine}, c${c}: ` +
          `+${fixed(cost, 1)} µs/req (the floor's EVALSHA: +${fixed(evalsha, 1)} µs; want ≤ +${fixed(evalsha + 2, 1)}), ` +
          `${fixed(on.redisScriptsPerReq, 2)} scripts/req and ${fixed(on.redisCmdsPerReq, 2)} commands/req, the ` +
          `script's own included (the floor: ${fixed(floor.redisCmdsPerReq, 2)}; want one round trip)`,
      );
    }
  }
  if (lines.length === 2) lines.push("- (not enough rows in this run to decide any)");
  return lines;
}
