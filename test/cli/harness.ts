import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ExecutionContext } from "ava";
import { stringify } from "yaml";
import { tempDir, writeServerFiles } from "../helpers/tls.js";

const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");

/** A portcullis CLI process of ours; stopped by PID (its workers too) when the test ends. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout lines that are JSON log lines, parsed, in order. */
  readonly logs: Array<Record<string, unknown>>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line (already seen or still to come) matching `match`; fails after timeoutMs. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name). */
  exited(): Promise<number | string>;
}

const live = new Set<number>();
// the net for a test that dies before its teardown: no gateway process outlives the test worker
process.once("exit", () => {
  for (const pid of live) killQuietly(pid, "SIGKILL");
});

export function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The environment a CLI child gets: ours without PORTCULLIS_* or REDIS_URL (they would change its config). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("PORTCULLIS_") || name === "REDIS_URL") delete env[name];
  return { ...env, ...extra };
}

/** Runs `portcullis <args>` through tsx, as `node --import tsx src/cli/main.ts` would. */
export function startCli(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): CliProcess {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid ?? -1;
  live.add(pid);
  let out = "";
  let err = "";
  let partial = "";
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exit = once(child, "exit").then(([code, signal]) => {
    live.delete(pid);
    for (const wake of waiters) wake();
    return (code ?? signal) as number | string;
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killQuietly(pid, "SIGKILL");
      await exit;
    }
    // workers notice their primary is gone and drain; make sure of it
    for (const line of logs) if (typeof line.workerPid === "number") killQuietly(line.workerPid, "SIGKILL");
  });
  return {
    child,
    pid,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    async waitForLog(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.find(match);
        if (found !== undefined) return found;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`portcullis exited (${child.exitCode ?? child.signalCode}) first:\n${err}\n${out}`);
        }
        if (Date.now() > deadline) throw new Error(`no such log line within ${timeoutMs} ms:\n${out}\n${err}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, 200);
          waiters.add(wake);
        });
      }
    },
  };
}

/** Writes a configuration file (YAML) serving the test PKI's certificate; returns its path. */
export async function writeConfig(t: ExecutionContext, config: Record<string, unknown>): Promise<string> {
  const { certFile, keyFile } = await writeServerFiles(t);
  const dir = await tempDir(t);
  const file = join(dir, "portcullis.yaml");
  const tls = { certFile, keyFile, ...(config.tls as object | undefined) };
  await writeFile(file, stringify({ ...config, tls }));
  return file;
}

/** Polls `check` every 50 ms until it returns true; fails after timeoutMs with `what`. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(50)) if (await check()) return;
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}
