import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

// Instruction counts from valgrind's callgrind: a count, not a time, so a row measured twice gives the same figure
// within about ±1 % however busy the machine is (CPU time per request moves by up to 2× here).
// V8's garbage collector and JIT compiler are counted apart from the rest: how much of either lands in a window of a
// few thousand requests depends on when a major GC or a re-optimization happens to fall, and would drown a
// difference of a few per cent in the requests' own work.

export const VALGRIND_BIN = ["/usr/bin/valgrind", "/usr/local/bin/valgrind"].find((bin) => existsSync(bin));

/** The command a child runs under: callgrind writing `<outPrefix>.<pid>` and `<outPrefix>.<pid>.<dump>`. */
export function callgrindWrapper(outPrefix: string): string[] {
  if (VALGRIND_BIN === undefined) throw new Error("valgrind is not installed (Debian: apt-get install valgrind)");
  // V8 writes and rewrites machine code in anonymous memory: valgrind must look for code changes there
  return [VALGRIND_BIN, "--tool=callgrind", "--smc-check=all-non-file", `--callgrind-out-file=${outPrefix}.%p`];
}

/** V8 flags that take the timing out of V8's own decisions: no background compiler or GC threads, no GC schedule
 * that follows measured speeds. They apply to every row alike. */
export const PREDICTABLE_V8 = ["--predictable", "--predictable-gc-schedule"];

/** Zeroes the counters of a process running under callgrind. */
export function zeroCounters(pid: number): void {
  execFileSync("callgrind_control", ["--zero", String(pid)], { stdio: "ignore" });
}

/** Writes the counters since the last zero to `<outPrefix>.<pid>.<n>` (n counts dumps from 1) and returns the file. */
export function dumpCounters(outPrefix: string, pid: number, dump: number): string {
  execFileSync("callgrind_control", ["--dump", String(pid)], { stdio: "ignore" });
  return `${outPrefix}.${pid}.${dump}`;
}

export interface InstructionSplit {
  /** Every instruction the process executed, all threads. */
  readonly total: number;
  /** V8's garbage collector: scavenges, marking, sweeping, compaction, the write barrier's slow path. */
  readonly gc: number;
  /** V8's parser, bytecode generator and optimizing compilers. */
  readonly compile: number;
}

// The collectors themselves; allocation's slow paths (a new page, a free-list refill) stay work: requests cause them
const GC =
  /Scaveng|Marking|MarkCompact|Sweep|Evacuat|heap::base|Pretenuring|BodyDescriptor|SlotCallback|RecordMigrated|SemiSpace|MemoryChunk|RememberedSet|SlotSet|MarkBit|GCTracer|WeakObjects|MinorGC|cppgc|Heap::(CollectGarbage|PerformGarbageCollection|GarbageCollection)/;
// V8's own parsers only: Node's HTTP parser and JSON.parse (JsonParser) are the requests' work
const COMPILE =
  /compiler::|Turbofan|[Mm]aglev|interpreter::|v8::internal::(Parser|ParserBase|PreParser|Scanner|Compiler)\b|BytecodeGenerator|v8::internal::Zone|baseline::|Assembler|RegExpCompiler/;

type Kind = "gc" | "compile" | "other";

function kindOf(name: string): Kind {
  if (GC.test(name)) return "gc";
  if (COMPILE.test(name)) return "compile";
  return "other";
}

/**
 * Self cost per kind of function in a callgrind dump (one event, Ir). The format names a function once as
 * `fn=(id) name` or `cfn=(id) name` and then by `(id)` alone; the cost line after `calls=` is the callee's inclusive
 * cost, already counted as the callee's own, so it is skipped.
 */
export function splitInstructions(text: string): InstructionSplit {
  const kinds = new Map<string, Kind>();
  const sums = { gc: 0, compile: 0, other: 0 };
  let current: Kind = "other";
  let skipNext = false;
  const define = (rest: string): Kind => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(rest);
    if (match === null) return kindOf(rest);
    const [, id = "", name] = match;
    if (name !== undefined) kinds.set(id, kindOf(name));
    return kinds.get(id) ?? "other";
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("fn=")) current = define(line.slice(3));
    else if (line.startsWith("cfn=")) define(line.slice(4));
    else if (line.startsWith("calls=")) skipNext = true;
    else if (/^[0-9+\-*]/.test(line)) {
      if (skipNext) {
        skipNext = false;
        continue;
      }
      const cost = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (Number.isFinite(cost)) sums[current] += cost;
    }
  }
  return { total: sums.gc + sums.compile + sums.other, gc: sums.gc, compile: sums.compile };
}

/** The split of one dump file, checked against the total callgrind wrote in it. */
export function readDump(file: string): InstructionSplit {
  const text = readFileSync(file, "utf8");
  const split = splitInstructions(text);
  const totals = Number(/^totals: (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  if (split.total !== totals) throw new Error(`${file}: the functions' costs add up to ${split.total}, not ${totals}`);
  return split;
}
