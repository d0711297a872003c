import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nginxVersion } from "./nginx.js";

/** The project root (dist/bench/lib/ -> ../../..). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Where results go (git-ignored). */
export const RESULTS_DIR = join(ROOT, "bench", "results");

export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly wrk: string | undefined;
  readonly nginx: string | undefined;
  readonly redis: string | undefined;
  readonly git: string | undefined;
  /** 1-minute load average at the start: a busy neighbour shows here. */
  readonly loadAverage: number;
  readonly command: string;
}

function quiet(file: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
    return out.trim() || undefined;
  } catch (error) {
    // wrk -v prints its version and exits 1
    const out = `${(error as { stdout?: string }).stdout ?? ""}`.trim();
    return out === "" ? undefined : out;
  }
}

export function describeMachine(command: string): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const commit = quiet("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = quiet("git", ["status", "--porcelain", "--untracked-files=no"]) !== undefined;
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    wrk: quiet("wrk", ["-v"])?.split("\n")[0]?.split(" Copyright")[0],
    nginx: nginxVersion(),
    redis: quiet("redis-server", ["--version"])?.split(" sha=")[0],
    git: commit === undefined ? undefined : `${commit}${dirty ? " + uncommitted changes" : ""}`,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    command,
  };
}

export function machineMarkdown(machine: Machine): string {
  const tools = [machine.wrk, machine.nginx, machine.redis].filter((tool) => tool !== undefined).join(", ");
  return [
    `- date: ${machine.date}`,
    `- machine: ${machine.nproc} × ${machine.cpuModel} (nproc ${machine.nproc}), ${machine.memoryGiB} GiB, Linux ${machine.kernel}; load average ${machine.loadAverage} at start`,
    `- node ${machine.node}; ${tools}`,
    `- git: ${machine.git ?? "unknown"}`,
    `- command: \`${machine.command}\``,
  ].join("\n");
}

/** A file-name-safe timestamp. */
export function stamp(machine: Machine): string {
  return machine.date.replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
}

/** Writes `<name>.md` and `<name>.json` under bench/results/ and returns their paths. */
export function writeResults(name: string, markdown: string, json: unknown): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const md = join(RESULTS_DIR, `${name}.md`);
  const data = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(md, markdown);
  writeFileSync(data, `${JSON.stringify(json, null, 2)}\n`);
  return [md, data];
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** 12 345 -> "12.3 k"; NaN -> "–". */
export function kilo(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 1000 ? `${(value / 1000).toFixed(1)} k` : value.toFixed(0);
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** 1.25, 1 -> "+1.3"; -3 -> "−3.0" (a minus sign, as the tables print differences). */
export function signedFixed(value: number, digits: number): string {
  return Number.isFinite(value) ? `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)}` : "–";
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : "–";
}
