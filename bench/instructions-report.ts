import type { Flags } from "./lib/flags.js";
import { fixed, type Machine, machineMarkdown, median } from "./lib/report.js";
import type { Row } from "./throughput-report.js";

export interface InstructionSample {
  readonly row: string;
  readonly connections: number;
  readonly repeat: number;
  readonly requests: number;
  /** Everything the row's process executed during the count, per request. */
  readonly totalPerReq: number;
  /** V8's garbage collector, per request: a major GC falls into a count or not, so this part jumps. */
  readonly gcPerReq: number;
  /** V8's parser and compilers, per request: what the warm-up left to optimize. */
  readonly compilePerReq: number;
  /** What the process does when left alone (its timers) for as long as the count took, per request. */
  readonly idlePerReq: number;
  /** The requests' own work: total minus GC, compile and idle. */
  readonly workPerReq: number;
  /** EVAL/EVALSHA Redis ran per request. */
  readonly redisScriptsPerReq: number;
}

/** Row (b0) run natively on a fresh process: the user CPU its requests take, to turn µs into instructions. */
export interface Calibration {
  readonly connections: number;
  readonly requests: number;
  readonly userUsPerReq: number;
}

export interface InstructionsInput {
  readonly machine: Machine;
  readonly flags: Flags;
  readonly rows: readonly Row[];
  readonly samples: readonly InstructionSample[];
  readonly notes: readonly string[];
  readonly calibration: Calibration | undefined;
}

interface InstructionCell {
  readonly work: number;
  readonly workMin: number;
  readonly workMax: number;
  readonly gc: number;
  readonly compile: number;
  readonly total: number;
  readonly scripts: number;
  readonly runs: number;
}

function cell(samples: readonly InstructionSample[], row: string, c: number): InstructionCell | undefined {
  const mine = samples.filter((s) => s.row === row && s.connections === c);
  if (mine.length === 0) return undefined;
  const work = mine.map((s) => s.workPerReq);
  return {
    work: median(work),
    workMin: Math.min(...work),
    workMax: Math.max(...work),
    gc: median(mine.map((s) => s.gcPerReq)),
    compile: median(mine.map((s) => s.compilePerReq)),
    total: median(mine.map((s) => s.totalPerReq)),
    scripts: median(mine.map((s) => s.redisScriptsPerReq)),
    runs: mine.length,
  };
}

const k = (instructions: number) => `${fixed(instructions / 1000, 1)} k`;

export function renderInstructions(input: InstructionsInput): string {
  const { machine, flags, rows, samples, notes, calibration } = input;
  const lines = [
    `# Portcullis instructions per request — ${machine.date.slice(0, 10)}`,
    "",
    machineMarkdown(machine),
    `- every row under valgrind ${"`--tool=callgrind`"}, node ${PREDICTABLE_TEXT}; per row: ${flags.warmupRequests} ` +
      `requests of warm-up, then ${flags.repeats} × ${flags.requests} requests counted (HTTPS, keep-alive), ` +
      `connections ${flags.connections.join(", ")}`,
    "- **work** = instructions of the row's process (all its threads) per request, without V8's GC and JIT " +
      "compiler (counted apart: where a major GC or a re-optimization falls decides how much of it lands in one " +
      "count) and without what the process does when idle for as long as the count took. User space only: the " +
      "kernel's share (syscalls, the same few per request for every row at one connection) is not in it.",
    "",
  ];
  for (const c of flags.connections) {
    const floor = cell(samples, "b", c);
    const peer = cell(samples, "e", c);
    lines.push(
      `## ${c} connection${c === 1 ? "" : "s"}`,
      "",
      "| row | work / request (min–max) | GC | JIT compile | total | Redis scripts / request | work vs floor (b) | vs peer (e) |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const row of rows) {
      const mine = cell(samples, row.id, c);
      if (mine === undefined) continue;
      const ratio = (other: InstructionCell | undefined) =>
        other === undefined ? "–" : fixed(mine.work / other.work, 2);
      lines.push(
        `| (${row.id}) ${row.label} | ${k(mine.work)} (${k(mine.workMin)}–${k(mine.workMax)}) | ${k(mine.gc)} | ` +
          `${k(mine.compile)} | ${k(mine.total)} | ${fixed(mine.scripts, 2)} | ${ratio(floor)} | ${ratio(peer)} |`,
      );
    }
    lines.push("", ...limitVerdicts(samples, c, calibration), "");
  }
  if (notes.length > 0) lines.push("## Notes", "", ...notes.map((note) => `- ${note}`), "");
  return lines.join("\n");
}

const PREDICTABLE_TEXT = "`--predictable --predictable-gc-schedule` (no background compiler or GC threads)";

/** Issue 6: the rate limit adds no more than one bare EVALSHA does in the floor, +2 µs, and one round trip. */
function limitVerdicts(samples: readonly InstructionSample[], c: number, calibration?: Calibration): string[] {
  const floor = cell(samples, "b", c);
  const bare = cell(samples, "b0", c);
  if (floor === undefined || bare === undefined) return [];
  const evalsha = floor.work - bare.work;
  // natively, under the same V8 flags, the compiler and the GC run on the main thread too: the whole count
  const perUs = calibration === undefined ? undefined : bare.total / calibration.userUsPerReq;
  const allowance = perUs === undefined ? 0 : 2 * perUs;
  const calibrated =
    calibration === undefined
      ? " No calibration run: the +2 µs allowance is left out."
      : ` 2 µs ≈ ${k(allowance)} instructions on this machine: row (b0) natively took ` +
        `${fixed(calibration.userUsPerReq, 1)} µs of user CPU per request over ${calibration.requests} requests ` +
        `at c${calibration.connections}, for its instructions here at c${c} (a time, so it wanders; it scales the ` +
        "allowance only).";
  const lines = [
    `The floor's EVALSHA: **${signed(evalsha)}** instructions of work per request (GC ${signed(floor.gc - bare.gc)}).${calibrated}`,
  ];
  for (const engine of ["undici", "http-proxy"]) {
    const on = cell(samples, `c-${engine}`, c);
    const off = cell(samples, `d-${engine}`, c);
    if (on === undefined || off === undefined) continue;
    const cost = on.work - off.work;
    const numbers =
      `**${signed(cost)}** instructions of work per request (GC ${signed(on.gc - off.gc)}; want ≤ ` +
      `${signed(evalsha + allowance)}), ${fixed(on.scripts, 2)} scripts per request`;
    // at one connection every take is a script of its own: fewer means the limiter answered locally (fallback)
    const fellBack = c === 1 && on.scripts < 0.99;
    if (evalsha <= 0 || fellBack) {
      const why = fellBack ? "the limiter did not ask Redis for every request" : "the floor's EVALSHA measured ≤ 0";
      lines.push(`- ? rate limit cost, ${engine}: ${numbers}: ${why}, no verdict`);
      continue;
    }
    const ok = cost <= evalsha + allowance && on.scripts <= 1.01;
    lines.push(`- ${ok ? "✓" : "✗"} rate limit cost, ${engine}: ${numbers}`);
  }
  return lines;
}

function signed(instructions: number): string {
  return `${instructions >= 0 ? "+" : "−"}${k(Math.abs(instructions))}`;
}
