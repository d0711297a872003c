import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { stablePort } from "./ports.js";

// Our own redis-server processes, never the shared one: each on a free port, without persistence, stopped by PID.

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number; // the current process: restart() changes it
  /** SIGTERM, then SIGKILL if it lingers; removes the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, as far as clients can tell. */
  kill(): Promise<void>;
  /** CLIENT PAUSE ms ALL, sent on a connection of its own: every other client's commands wait. */
  pause(ms: number): Promise<void>;
  /** Starts a fresh (empty) server on the same port after stop() or kill(). */
  restart(): Promise<void>;
  /** One command on a connection of its own; the reply as text. */
  command(...args: string[]): Promise<string>;
}

export interface RedisClusterHandle {
  readonly nodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// the safety net for a test that dies before its teardown: no redis-server outlives the test worker
process.once("exit", () => {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
});

// The second net, for what "exit" misses (ava ending a timed-out worker thread, a crash): a shell that SIGKILLs
// the server by PID and removes its dir once this process is gone; it quits by itself once the server is gone.
function watch(server: ChildProcess, dir: string): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do kill -0 ${server.pid} 2>/dev/null || exit 0; sleep 0.5; done; kill -9 ${server.pid}; rm -rf '${dir}'`;
  const watchdog = spawn("sh", ["-c", script], { stdio: "ignore" });
  watchdog.unref();
  server.once("exit", () => watchdog.pid !== undefined && watchdog.exitCode === null && watchdog.kill("SIGKILL"));
}

/** A free port for a redis-server: outside the ephemeral range, since a test may kill it and start it there again. */
export const freePort = stablePort;

/** Sends one RESP command to 127.0.0.1:port and resolves with the raw reply (simple, integer, error or bulk). */
export async function redisCommand(port: number, ...args: string[]): Promise<string> {
  const socket = createConnection({ host: "127.0.0.1", port });
  socket.setTimeout(2000, () => socket.destroy(new Error(`redis on ${port}: no reply to ${args[0]}`)));
  socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  let reply = "";
  try {
    for await (const chunk of socket) {
      reply += String(chunk);
      if (complete(reply)) return reply;
    }
    throw new Error(`redis on ${port}: connection closed after ${JSON.stringify(reply)}`);
  } finally {
    socket.destroy();
  }
}

// a reply is complete at its first line end, except a bulk string ($len), complete after len bytes more
function complete(reply: string): boolean {
  const lineEnd = reply.indexOf("\r\n");
  if (lineEnd === -1) return false;
  if (!reply.startsWith("$")) return true;
  const length = Number(reply.slice(1, lineEnd));
  return length < 0 || reply.length >= lineEnd + 2 + length + 2;
}

/**
 * Calls check every 25 ms until it returns true; fails after 15 s with `what`. Generous on purpose: it returns as
 * soon as the check passes, and a busy two-core machine can take seconds to start a process.
 */
async function poll(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const end = Date.now() + 15_000; Date.now() < end; await sleep(25)) if (await check()) return;
  throw new Error(what);
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  await poll(async () => {
    if (child.exitCode !== null) {
      throw new Error(`redis-server on ${port} exited with ${child.exitCode}: ${logTail.get(child)?.trim()}`);
    }
    // ours, not another worker's that took the port first
    return (await redisCommand(port, "INFO", "server").catch(() => "")).includes(`process_id:${child.pid}\r\n`);
  }, `redis-server on ${port} did not answer`);
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, "exit");
  process.kill(child.pid, signal);
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGKILL"), 2000);
  await exited;
  clearTimeout(timer);
  live.delete(child);
}

// the last of what each server logged (warnings only), so that a server that will not start says why
const logTail = new WeakMap<ChildProcess, string>();

function spawnRedis(port: number, dir: string, extra: string[] = []): ChildProcess {
  const options = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const child = spawn("redis-server", [...options, "--loglevel", "warning", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => logTail.set(child, ((logTail.get(child) ?? "") + String(chunk)).slice(-1000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  live.add(child);
  watch(child, dir);
  return child;
}

/** A redis-server of our own, or REDIS_URL when set (then kill/pause/restart are refused: not ours to break). */
export async function startRedis(): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external) return externalRedis(external);
  const dir = await mkdtemp(join(tmpdir(), "pc-redis-"));
  let { port, child } = await spawnOnFreePort(dir);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      await terminate(child, "SIGTERM");
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => terminate(child, "SIGKILL"),
    async pause(ms) {
      const reply = await redisCommand(port, "CLIENT", "PAUSE", String(ms), "ALL");
      if (!reply.startsWith("+OK")) throw new Error(`CLIENT PAUSE: ${reply}`);
    },
    async restart() {
      await terminate(child, "SIGKILL");
      child = spawnRedis(port, dir);
      await waitForPing(port, child);
    },
    command: (...args) => redisCommand(port, ...args),
  };
}

// Another test worker may take the port between our probe and redis-server's bind: then redis-server exits at
// once, and another port is tried
async function spawnOnFreePort(dir: string): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnRedis(port, dir);
    try {
      await waitForPing(port, child);
      return { port, child };
    } catch (error) {
      await terminate(child, "SIGKILL");
      if (attempt === 3 || child.exitCode === null) throw error;
    }
  }
}

function externalRedis(url: string): RedisServer {
  const port = Number(new URL(url).port || 6379);
  const refuse = (): Promise<never> => Promise.reject(new Error("REDIS_URL is set: fault injection is not ours to do"));
  return {
    url,
    port,
    pid: -1,
    stop: () => Promise.resolve(),
    kill: refuse,
    pause: refuse,
    restart: refuse,
    command: (...args) => redisCommand(port, ...args),
  };
}

/**
 * Three masters with cluster-enabled, slots spread by redis-cli --cluster create. Bus ports are chosen explicitly
 * (cluster-port): the default port + 10000 may be taken, or above 65535 for a high free port.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), "pc-cluster-"));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => terminate(child, "SIGKILL")));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) {
      const options = ["--cluster-enabled", "yes", "--cluster-port", String(await freePort())];
      const config = ["--cluster-node-timeout", "2000", "--cluster-config-file", join(dir, `nodes-${port}.conf`)];
      children.push(spawnRedis(port, dir, [...options, ...config]));
    }
    await Promise.all(ports.map((port, i) => waitForPing(port, children[i] as ChildProcess)));
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await promisify(execFile)("redis-cli", ["--cluster", "create", ...addresses, "--cluster-yes"], { timeout: 20_000 });
    await waitForClusterOk(ports);
    return { nodes: ports.map((port) => ({ host: "127.0.0.1", port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForClusterOk(ports: readonly number[]): Promise<void> {
  await poll(async () => {
    const infos = await Promise.all(ports.map((port) => redisCommand(port, "CLUSTER", "INFO").catch(() => "")));
    return infos.every((info) => info.includes("cluster_state:ok"));
  }, "the cluster never reached cluster_state:ok");
}
