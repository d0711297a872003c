import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import test from "ava";
import { Redis } from "ioredis";
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

test("redis: a client made with a keyPrefix keeps its prefix on the limiter's keys too", async (t) => {
  const client = new Redis(redis.url, { keyPrefix: "tenant-a:", maxRetriesPerRequest: 1 });
  await whenReady(client, 2000);
  const limiter = new RedisLimiter(client);
  t.teardown(() => limiter.close());
  const e = entry(rule({ limit: 10, periodMs: 10_000 }), "i:prefixed");
  t.true((await limiter.take({ entries: [e] })).allowed);
  t.is(await redis.command("EXISTS", `tenant-a:${e.key}`), ":1\r\n");
  t.is(await redis.command("EXISTS", e.key), ":0\r\n");
});

/** EVAL and EVALSHA calls Redis has served so far. */
async function scriptCalls(): Promise<number> {
  const stats = await redis.command("INFO", "commandstats");
  return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

// serial: no other test of this file may run a script while the calls are counted
test.serial("redis: takes arriving together share script calls, and each is decided on its own", async (t) => {
  const limiter = await connectedLimiter();
  t.teardown(() => limiter.close());
  const prefix = randomUUID();
  const limited = entry(rule({ name: "batched", limit: 100, periodMs: 86_400_000 }), "i:batch", prefix);
  // a day's period: no request is given back while the test runs, so remaining is exact
  const spare = entry(rule({ name: "spare", limit: 1_000, periodMs: 86_400_000 }), "i:spare", prefix);
  await limiter.take({ entries: [entry(rule({ name: "warm", limit: 10, periodMs: 1000 }), "i:warm", prefix)] }); // Redis learns the script
  const before = await scriptCalls();
  // 300 requests on one key, every third also on a second rule: exactly the first 100 may pass
  const decisions = await Promise.all(
    Array.from({ length: 300 }, (_, i) => limiter.take({ entries: i % 3 === 0 ? [limited, spare] : [limited] })),
  );
  // all 300 wait for the end of the turn, then go in calls of at most 128 requests
  t.is((await scriptCalls()) - before, 3, "at most 128 requests per script call");
  t.deepEqual(
    decisions.map((d) => d.allowed),
    Array.from({ length: 300 }, (_, i) => i < 100),
  );
  // a denied request counted nothing anywhere: the spare rule holds only the admitted requests that carried it
  const spareAdmitted = decisions.filter((d, i) => i % 3 === 0 && d.allowed).length;
  t.is(spareAdmitted, 34);
  const next = await limiter.take({ entries: [spare] });
  t.is(next.results[0]?.remaining, 1_000 - spareAdmitted - 1);
});

test("redis: a batch Redis refuses fails each of its takes, and the next batch is served", async (t) => {
  const limiter = await connectedLimiter();
  t.teardown(() => limiter.close());
  const r = rule({ name: "typed", limit: 10, periodMs: 60_000 });
  const fine = entry(r, "i:fine");
  const broken = entry(r, "i:broken");
  await redis.command("LPUSH", broken.key, "x"); // GET on a list fails the script (WRONGTYPE)
  // the two share one script call
  const outcomes = await Promise.allSettled([limiter.take({ entries: [fine] }), limiter.take({ entries: [broken] })]);
  t.deepEqual(
    outcomes.map((o) => o.status),
    ["rejected", "rejected"],
  );
  t.true((await limiter.take({ entries: [fine] })).allowed);
});
