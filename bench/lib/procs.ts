import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

// Every process the bench starts is registered here and stopped by its PID: on success by stop(), on a throw by the
// caller's finally, on Ctrl-C or SIGTERM by the handlers below, and if this process is SIGKILLed by the watchdog
// (non-node children) or by the IPC disconnect (node children exit when their parent's channel closes).

const live = new Map<number, string>();
const tempDirs = new Set<string>();

/**
 * SIGKILLs every process still registered and its descendants (nginx's worker outlives a killed master otherwise),
 * each by its PID, and removes the registered temp dirs; safe to call more than once.
 */
export function killAll(): void {
  const pids = [...live.keys()].flatMap((pid) => processTree(pid));
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** A temp dir that killAll removes if the run is cut short (a normal end removes it itself). */
export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}

let installed = false;
/** Ctrl-C, SIGTERM, SIGHUP and exit stop everything this run started. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.once("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} process(es) by PID\n`);
      killAll();
      process.exit(130);
    });
  }
}

export function register(pid: number, name: string): void {
  live.set(pid, name);
}

export function unregister(pid: number): void {
  live.delete(pid);
}

/** A shell that SIGKILLs `pid` once this process is gone, for children that have no IPC channel to notice it. */
export function watchdog(pid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do kill -0 ${pid} 2>/dev/null || exit 0; sleep 1; done; kill -9 ${pid}`;
  const dog = spawn("sh", ["-c", script], { stdio: "ignore", detached: true });
  dog.unref();
}

/** Waits for the process to exit, SIGKILLing it by PID after `graceMs`. */
export async function waitExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  const timer = setTimeout(() => {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Sends `signal` to the process by PID (none when null: it was asked to exit some other way), then waits for it to
 * exit, SIGKILLing it after `graceMs`.
 */
export async function stopByPid(child: ChildProcess, signal: NodeJS.Signals | null = "SIGTERM", graceMs = 5_000) {
  if (child.pid === undefined) return;
  if (signal !== null && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, signal);
    } catch {
      // gone meanwhile
    }
  }
  await waitExit(child, graceMs);
  unregister(child.pid);
}

/** A port the kernel just handed out (bound on 0, then released), for servers that cannot report their own. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** Polls `check` every 50 ms until it resolves true, or throws after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
}

// --- /proc readings ------------------------------------------------------------------------------------------

const clockTicks = ticksPerSecond();

function ticksPerSecond(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100; // Linux's USER_HZ everywhere we run
  }
}

interface StatLine {
  readonly ppid: number;
  /** utime + stime of the process (all its threads), in microseconds. */
  readonly cpuUs: number;
  /** cutime + cstime: what its exited and reaped children used. */
  readonly reapedUs: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // the command name may hold spaces and parentheses: the fields start after the last ')'
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
  const reaped = Number(fields[13]) + Number(fields[14]); // cutime, cstime
  return { ppid, cpuUs: ticksToUs(ticks), reapedUs: ticksToUs(reaped) };
}

/** The PID and all its descendants, found through the ppid of every process in /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** CPU time used so far by each process of the tree under `root`, in microseconds. */
export type CpuSnapshot = Map<number, number>;

export function cpuSnapshot(root: number): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat !== undefined) snapshot.set(pid, stat.cpuUs);
  }
  return snapshot;
}

/** CPU microseconds the tree used between two snapshots; a process born in between counts whole. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, us] of after) total += us - (before.get(pid) ?? 0);
  return total;
}

/** Resident set size of one process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Busy and total jiffies of the whole machine (all CPUs), from the first line of /proc/stat. */
export interface HostTicks {
  readonly busy: number;
  readonly total: number;
  readonly steal: number;
}

export function hostTicks(): HostTicks {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) + (steal ?? 0), steal: steal ?? 0 };
}

/**
 * Interrupts one CPU sent another to wake a task there (/proc/interrupts: x86's RES and CAL, arm64's IPI lines of
 * the same names), every CPU: on loopback, a write to a client or backend that sleeps on the other CPU costs one.
 * Machine-wide.
 */
export function crossCpuInterrupts(): number {
  return countCrossCpuInterrupts(readFileSync("/proc/interrupts", "utf8"));
}

/** The rescheduling and function-call interrupts of a /proc/interrupts text, summed over its CPUs; NaN if none. */
export function countCrossCpuInterrupts(text: string): number {
  let total = Number.NaN;
  for (const line of text.split("\n")) {
    const match = /^\s*[A-Z0-9]+:((?:\s+\d+)+)\s+(Rescheduling|Function call) interrupts\s*$/.exec(line);
    if (match === null) continue;
    const counts = (match[1] ?? "").trim().split(/\s+/).map(Number);
    total = (Number.isNaN(total) ? 0 : total) + counts.reduce((sum, n) => sum + n, 0);
  }
  return total;
}

/** The share of the machine's CPU time that was busy between two readings, and the share the hypervisor stole. */
export function hostLoad(before: HostTicks, after: HostTicks): { busy: number; steal: number } {
  const total = after.total - before.total;
  if (total <= 0) return { busy: Number.NaN, steal: Number.NaN };
  return { busy: (after.busy - before.busy) / total, steal: (after.steal - before.steal) / total };
}

/** Jiffies (USER_HZ) to microseconds. */
export function ticksToUs(ticks: number): number {
  return (ticks / clockTicks) * 1e6;
}

/** Everything this run has used so far: this process, its live descendants, and the children it reaped (wrk). */
export function benchCpuUs(): number {
  let total = readStat(process.pid)?.reapedUs ?? 0;
  for (const us of cpuSnapshot(process.pid).values()) total += us;
  return total;
}

/** User-mode CPU time one process has used so far, in microseconds (utime of /proc/<pid>/stat). */
export function userCpuUs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return ticksToUs(Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[11]));
}
