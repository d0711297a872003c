import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import { createRedisClient, whenReady } from "../../src/ratelimit/client.js";
import { FallbackLimiter, type LimiterLogger } from "../../src/ratelimit/fallback.js";
import type { LimitDecision } from "../../src/ratelimit/limiter.js";
import { RedisLimiter } from "../../src/ratelimit/redis.js";
import { freePort, type RedisServer, startRedis } from "../helpers/redis.js";
import { entry, rule } from "./fixtures/entries.js";

// Faults on a redis-server of each test's own: killed, paused, absent. Not with REDIS_URL: not ours to break.
const faultTest = process.env.REDIS_URL ? test.skip : test;
const TIMEOUT_MS = 150;

interface Harness {
  redis: RedisServer;
  limiter: FallbackLimiter;
  logs: string[];
}

async function harness(t: { teardown(fn: () => Promise<void>): void }, gatewayCount = 1): Promise<Harness> {
  const redis = await startRedis();
  // wired as the gateway wires it: the limiter keeps the deadline, the client sets no timer per command
  const client = createRedisClient({ url: redis.url, commandTimeoutMs: false, maxReconnectDelayMs: 100 });
  await whenReady(client, 2000);
  const logs: string[] = [];
  const logger: LimiterLogger = { warn: (_, m) => logs.push(`warn ${m}`), info: (_, m) => logs.push(`info ${m}`) };
  const remote = new RedisLimiter(client, { timeoutMs: TIMEOUT_MS });
  const limiter = new FallbackLimiter({ remote, gatewayCount, timeoutMs: TIMEOUT_MS, probeIntervalMs: 100, logger });
  t.teardown(async () => {
    await limiter.close();
    await redis.stop();
  });
  return { redis, limiter, logs };
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (condition()) return true;
  return condition();
}

faultTest("Redis killed under load: no take fails, the local limiter takes over, Redis takes back", async (t) => {
  const { redis, limiter, logs } = await harness(t, 2);
  const e = entry(rule({ limit: 1000, periodMs: 60_000 }), "i:load");
  const decisions: LimitDecision[] = [];
  const errors: unknown[] = [];
  let running = true;
  const load = (async () => {
    while (running) {
      await Promise.all(
        [1, 2, 3, 4, 5].map(() =>
          limiter.take({ entries: [e] }).then(
            (d) => decisions.push(d),
            (err) => errors.push(err),
          ),
        ),
      );
      await sleep(5);
    }
  })();
  await sleep(200);
  await redis.kill();
  t.true(await until(() => limiter.mode() === "fallback", 2000), "never switched to the fallback");
  await sleep(200);
  t.true(decisions.some((d) => d.source === "fallback" && d.allowed));
  await redis.restart();
  t.true(await until(() => limiter.mode() === "redis", 3000), "never went back to Redis");
  await sleep(100);
  running = false;
  await load;
  t.deepEqual(errors, []);
  t.is(decisions.at(-1)?.source, "redis");
  t.regex(await redis.command("EXISTS", e.key), /^:1/, "the restarted Redis holds the limit again");
  t.deepEqual(
    logs.map((l) => l.split(" ")[0]),
    ["warn", "info"],
    "one log line per mode change",
  );
});

faultTest("CLIENT PAUSE longer than the timeout: takes return within the timeout, then Redis takes back", async (t) => {
  const { redis, limiter } = await harness(t);
  const e = entry(rule({ limit: 100, periodMs: 60_000 }), "i:pause");
  t.true((await limiter.take({ entries: [e] })).allowed);
  await redis.pause(1000);
  const started = performance.now();
  const decisions = await Promise.all([1, 2, 3, 4, 5].map(() => limiter.take({ entries: [e] })));
  const waited = performance.now() - started;
  t.true(waited < TIMEOUT_MS + 100, `waited ${Math.round(waited)} ms`);
  t.true(decisions.every((d) => d.allowed && d.source === "fallback"));
  t.is(limiter.mode(), "fallback");
  const fast = performance.now();
  await limiter.take({ entries: [e] }); // in fallback mode nobody waits for Redis at all
  t.true(performance.now() - fast < 20);
  t.true(await until(() => limiter.mode() === "redis", 3000), "never went back to Redis");
});

faultTest(
  "fallback per rule: local enforces limit / gatewayCount, open admits, closed refuses as unavailable",
  async (t) => {
    const { redis, limiter } = await harness(t, 2);
    await redis.kill();
    const local = entry(rule({ name: "local", limit: 10, periodMs: 60_000 }), "i:f");
    const open = entry(rule({ name: "open", limit: 1, periodMs: 60_000, fallback: "open" }), "i:f");
    const closed = entry(rule({ name: "closed", limit: 100, periodMs: 60_000, fallback: "closed" }), "i:f");
    const locals = await Promise.all(Array.from({ length: 8 }, () => limiter.take({ entries: [local, open] })));
    t.is(locals.filter((d) => d.allowed).length, 5); // 10 shared by 2 gateways; "open" limit 1 never applied
    t.deepEqual(
      locals[0]?.results.map((r) => r.rule.name),
      ["local"],
    ); // nothing made up for the open rule
    const refused = await limiter.take({ entries: [local, closed] });
    t.like(refused, { allowed: false, unavailable: true, retryAfterMs: 100 });
  },
);

faultTest("a key Redis denied is answered locally until its retry time, without asking Redis", async (t) => {
  const { redis, limiter } = await harness(t);
  const e = entry(rule({ limit: 1, periodMs: 60_000 }), "i:blocked");
  await limiter.take({ entries: [e] });
  t.like(await limiter.take({ entries: [e] }), { allowed: false, source: "redis" });
  await redis.pause(1000); // Redis cannot answer now; the cache must not need it
  const started = performance.now();
  const decision = await limiter.take({ entries: [e] });
  t.like(decision, { allowed: false, source: "blocked" });
  t.true(decision.retryAfterMs > 59_000);
  t.true(performance.now() - started < 20);
  t.is(limiter.mode(), "redis");
});

test("no Redis at start: the first take falls back instead of failing", async (t) => {
  const port = await freePort(); // nothing listens there (outside the ephemeral range: no self-connect)
  const client = createRedisClient({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: TIMEOUT_MS });
  const limiter = new FallbackLimiter({ remote: new RedisLimiter(client), timeoutMs: TIMEOUT_MS });
  t.teardown(() => limiter.close());
  const decision = await limiter.take({ entries: [entry(rule({ limit: 1, periodMs: 1000 }), "i:none")] });
  t.like(decision, { allowed: true, source: "fallback" });
  t.is(limiter.mode(), "fallback");
});

test("a remote limiter that keeps no deadline of its own is given one: a take that never settles falls back", async (t) => {
  // any RemoteLimiter, not only Redis: this one hangs, as a limiter behind a stalled network hop would
  const hanging = {
    take: () => new Promise<LimitDecision>(() => {}),
    ping: () => new Promise<void>(() => {}),
    close: async () => {},
  };
  const limiter = new FallbackLimiter({ remote: hanging, timeoutMs: TIMEOUT_MS, probeIntervalMs: 100 });
  t.teardown(() => limiter.close());
  const started = performance.now();
  const decision = await limiter.take({ entries: [entry(rule({ limit: 1, periodMs: 1000 }), "i:hang")] });
  t.like(decision, { allowed: true, source: "fallback" });
  t.true(performance.now() - started < TIMEOUT_MS + 1000); // the timeout, plus slack for a busy machine
  t.is(limiter.mode(), "fallback");
});
