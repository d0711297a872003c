import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { freePort, register, stopByPid, waitFor, watchdog } from "./procs.js";

// The bench's own redis-server, never the shared one on 6379: a free port, no persistence, stopped by PID.

export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  /** Commands processed so far, all of them (those scripts call included) and the scripts (EVAL, EVALSHA) alone. */
  counters(): Promise<RedisCounters>;
  stop(): Promise<void>;
}

export interface RedisCounters {
  readonly commands: number;
  readonly scripts: number;
}

export async function startRedis(dir: string): Promise<BenchRedis> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const child = spawn("redis-server", args, { stdio: "ignore" });
  if (child.pid === undefined) throw new Error("redis-server: could not spawn");
  register(child.pid, "redis-server");
  watchdog(child.pid);
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on("error", () => {}); // refused while it starts
  try {
    await waitFor("redis-server", 10_000, async () => (await client.ping()) === "PONG");
  } catch (error) {
    client.disconnect();
    await stopByPid(child, "SIGKILL");
    throw error;
  }
  return {
    url,
    pid: child.pid,
    async counters() {
      // commandstats counts the commands a script calls too: EVALSHA + TIME + GET + SET is one round trip
      const info = await client.info("commandstats");
      let commands = 0;
      let scripts = 0;
      for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        commands += Number(calls);
        if (/^eval/.test(name as string)) scripts += Number(calls);
      }
      return { commands, scripts };
    },
    async stop() {
      client.disconnect();
      await stopByPid(child, "SIGTERM");
    },
  };
}
