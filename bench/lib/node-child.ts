import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { register, stopByPid } from "./procs.js";

// The parent's side of the protocol that bench/lib/child-main.ts speaks: the options go in argv[2] as JSON, the
// child answers {type: "ready", port} once it listens, then replies to {type, id} requests with {type: "reply", id}.

export interface NodeChild {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Asks the child something (e.g. "memory", "stats", "gc") and resolves with its reply. */
  ask<T>(type: string, timeoutMs?: number): Promise<T>;
  /** Asks the child to close and exit (so --cpu-prof writes its profile), SIGKILLs it by PID after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last few kB the child wrote to stderr, for error messages. */
  stderr(): string;
}

export interface StartChildOptions {
  /** Node flags, e.g. ["--cpu-prof", "--cpu-prof-dir=..."] or ["--expose-gc"]. */
  readonly execArgv?: readonly string[];
  /** Where the child's stdout goes: a file descriptor (the access log), or nothing. */
  readonly stdout?: number | "ignore";
  readonly readyTimeoutMs?: number;
  /** A command the child runs under, e.g. ["valgrind", "--tool=callgrind", ...]: it must exec node in place. */
  readonly wrapper?: readonly string[];
}

/** `script` relative to dist/bench/, e.g. "backend.js". */
export function benchScript(script: string): string {
  return fileURLToPath(new URL(`../${script}`, import.meta.url));
}

interface Message {
  readonly type: string;
  readonly id?: number;
  readonly port?: number;
  readonly data?: unknown;
}

/** Starts `node <script> <json options>` and resolves once it reported the port it listens on. */
export async function startNodeChild(
  name: string,
  script: string,
  options: unknown,
  startOptions: StartChildOptions = {},
): Promise<NodeChild> {
  const [command = process.execPath, ...wrapperArgs] = [...(startOptions.wrapper ?? []), process.execPath];
  const args = [...wrapperArgs, ...(startOptions.execArgv ?? []), script, JSON.stringify(options)];
  const child = spawn(command, args, {
    stdio: ["ignore", startOptions.stdout ?? "ignore", "pipe", "ipc"],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${script}`);
  const pid = child.pid;
  register(pid, name);
  let errText = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errText = (errText + chunk.toString("utf8")).slice(-4096);
  });
  const pending = new Map<number, (data: unknown) => void>();
  let nextId = 1;
  child.on("message", (message: Message) => {
    if (message.type === "reply" && message.id !== undefined) pending.get(message.id)?.(message.data);
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name}: not ready after ${startOptions.readyTimeoutMs ?? 30_000} ms\n${errText}`)),
      startOptions.readyTimeoutMs ?? 30_000,
    );
    child.on("message", (message: Message) => {
      if (message.type !== "ready" || message.port === undefined) return;
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited before it was ready (${signal ?? code})\n${errText.trim()}`));
    });
  }).catch(async (error: unknown) => {
    await stopByPid(child, "SIGKILL", 1_000);
    throw error;
  });

  return {
    name,
    pid,
    port,
    ask<T>(type: string, timeoutMs = 10_000) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: no reply to ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (data) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(data as T);
        });
        child.send({ type, id });
      });
    },
    async stop(graceMs = 10_000) {
      const asked = child.connected;
      if (asked) child.send({ type: "stop" });
      await stopByPid(child, asked ? null : "SIGTERM", graceMs);
    },
    stderr: () => errText,
  };
}
