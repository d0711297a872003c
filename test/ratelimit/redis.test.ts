import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import test from "ava";
import { createRedisClient, whenReady } from "../../src/ratelimit/client.js";
import { RedisLimiter } from "../../src/ratelimit/redis.js";
import { type RedisServer, startRedis } from "../helpers/redis.js";
import { coreSuite, entry, rule } from "./core-suite.js";

let redis: RedisServer;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

/** A limiter on a connected client: without an offline queue, commands before the first connect fail at once. */
async function connectedLimiter(): Promise<RedisLimiter> {
  const client = createRedisClient({ url: redis.url, commandTimeoutMs: 2000 });
  await whenReady(client, 2000);
  return new RedisLimiter(client);
}

coreSuite("redis", connectedLimiter);

const worker = fileURLToPath(new URL("./fixtures/take-worker.ts", import.meta.url));

test("redis: two OS processes on one Redis admit at most N together", async (t) => {
  const prefix = randomUUID();
  const children: ChildProcess[] = [1, 2].map(() =>
    fork(worker, [redis.url, prefix, "25", "60"], { execArgv: ["--import=tsx"], stdio: "ignore" }),
  );
  t.teardown(() => {
    for (const child of children) if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGKILL");
  });
  // the next message, or a failure if the worker dies first (once settled, a later exit changes nothing)
  const message = (child: ChildProcess) =>
    new Promise<Record<string, number>>((resolve, reject) => {
      child.once("message", (m) => resolve(m as Record<string, number>));
      child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
    });
  await Promise.all(children.map(message)); // both ready
  const counts = children.map(message);
  for (const child of children) child.send("go");
  const allowed = (await Promise.all(counts)).map((m) => m.allowed ?? 0);
  t.is(allowed.length, 2);
  t.is(
    allowed.reduce((a, b) => a + b, 0),
    25,
    `admitted ${allowed.join(" + ")}`,
  );
  await Promise.all(children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)));
});

test("redis: state lives in one expiring key per rule and identity, the TAT in microseconds", async (t) => {
  const limiter = await connectedLimiter();
  t.teardown(() => limiter.close());
  const e = entry(rule({ limit: 10, periodMs: 10_000 }), "i:ttl");
  await limiter.take({ entries: [e] });
  const ttl = Number((await redis.command("PTTL", e.key)).slice(1));
  t.true(ttl > 500 && ttl <= 1000, `pttl ${ttl}`); // one emission interval, T = 1 s, less the time since
  t.regex(await redis.command("GET", e.key), /^\$16\r\n\d{16}\r\n$/);
});

test("redis: a flushed script cache (NOSCRIPT) is reloaded without failing a take", async (t) => {
  const limiter = await connectedLimiter();
  t.teardown(() => limiter.close());
  const e = entry(rule({ limit: 10, periodMs: 10_000 }), "i:noscript");
  await limiter.take({ entries: [e] });
  await redis.command("SCRIPT", "FLUSH");
  t.true((await limiter.take({ entries: [e] })).allowed);
});
