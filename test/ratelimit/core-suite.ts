import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import type { Limiter } from "../../src/ratelimit/limiter.js";
import { entry, rule } from "./fixtures/entries.js";

// The behaviour every limiter owes, run against memory, a single Redis and a Redis Cluster alike.

export { entry, rule };

export function coreSuite(title: string, open: () => Promise<Limiter>): void {
  const withLimiter = async (run: (limiter: Limiter) => Promise<void>): Promise<void> => {
    const limiter = await open();
    try {
      await run(limiter);
    } finally {
      await limiter.close();
    }
  };

  test(`${title}: exactly N of 3N concurrent takes pass`, (t) =>
    withLimiter(async (limiter) => {
      const e = entry(rule({ limit: 20, periodMs: 60_000 }), "i:exact");
      const decisions = await Promise.all(Array.from({ length: 60 }, () => limiter.take({ entries: [e] })));
      t.is(decisions.filter((d) => d.allowed).length, 20);
      const denied = decisions.find((d) => !d.allowed);
      t.true((denied?.retryAfterMs ?? 0) > 0 && (denied?.retryAfterMs ?? 0) <= 3000); // T = 60 s / 20
    }));

  test(`${title}: one identity exhausting its limit does not slow another`, (t) =>
    withLimiter(async (limiter) => {
      const limited = rule({ limit: 3, periodMs: 60_000 });
      const prefix = randomUUID();
      for (let i = 0; i < 5; i++) await limiter.take({ entries: [entry(limited, "i:a", prefix)] });
      const other = await Promise.all([1, 2, 3].map(() => limiter.take({ entries: [entry(limited, "i:b", prefix)] })));
      t.true(other.every((d) => d.allowed));
      t.deepEqual(other.map((d) => d.results[0]?.remaining).sort(), [0, 1, 2]);
    }));

  test(`${title}: burst and daily rules are both counted, and a denial consumes nothing`, (t) =>
    withLimiter(async (limiter) => {
      const burst = entry(rule({ name: "burst", limit: 2, periodMs: 60_000 }), "t:x");
      const daily = entry(rule({ name: "daily", limit: 10, periodMs: 86_400_000 }), "t:x");
      const first = await limiter.take({ entries: [burst, daily] });
      const second = await limiter.take({ entries: [burst, daily] });
      t.true(first.allowed && second.allowed);
      t.deepEqual(
        second.results.map((r) => r.remaining),
        [0, 8],
      );
      const third = await limiter.take({ entries: [burst, daily] });
      t.false(third.allowed);
      t.deepEqual(
        third.results.map((r) => [r.rule.name, r.allowed, r.remaining]),
        [
          ["burst", false, 0],
          ["daily", true, 8],
        ],
      );
      const dailyAlone = await limiter.take({ entries: [daily] });
      t.is(dailyAlone.results[0]?.remaining, 7); // 10 - 2 admitted - this one: the denied request took nothing
    }));

  test(`${title}: rules of different identities (different slots) stay all-or-nothing`, (t) =>
    withLimiter(async (limiter) => {
      const prefix = randomUUID();
      const perIp = entry(rule({ name: "ip", limit: 1, periodMs: 60_000 }), "i:one", prefix);
      const perToken = entry(rule({ name: "token", limit: 5, periodMs: 60_000 }), "t:one", prefix);
      const global = entry(rule({ name: "global", limit: 5, periodMs: 60_000, key: "global" }), "g", prefix);
      t.true((await limiter.take({ entries: [perIp, perToken, global] })).allowed);
      const denied = await limiter.take({ entries: [perIp, perToken, global] });
      t.false(denied.allowed);
      const after = await limiter.take({ entries: [perToken, global] });
      t.deepEqual(
        after.results.map((r) => r.remaining),
        [3, 3],
      ); // 5 - first - this one: the denial was undone
    }));

  test(`${title}: retry-after is honest: not admitted earlier, admitted once it has passed`, (t) =>
    withLimiter(async (limiter) => {
      const e = entry(rule({ limit: 2, periodMs: 1000 }), "i:retry");
      await limiter.take({ entries: [e] });
      await limiter.take({ entries: [e] });
      const sent = performance.now(); // the denial was decided after this moment
      const denied = await limiter.take({ entries: [e] });
      const answered = performance.now(); // ... and before this one
      t.false(denied.allowed);
      // T = 500 ms; less when time passed between the takes (the bucket refills meanwhile)
      t.true(denied.retryAfterMs > 100 && denied.retryAfterMs <= 500, `retry after ${denied.retryAfterMs} ms`);
      await sleep(Math.max(0, denied.retryAfterMs - 200));
      const early = await limiter.take({ entries: [e] });
      // decided before this moment: only when that is surely before the retry time does it prove anything (a
      // loaded machine can oversleep)
      if (performance.now() - sent < denied.retryAfterMs) t.false(early.allowed, "admitted before the retry delay");
      // the retry time is at most retryAfterMs past the answer (a take may wait for its batch and Redis first)
      await sleep(denied.retryAfterMs + 20 - (performance.now() - answered));
      t.true((await limiter.take({ entries: [e] })).allowed, "still denied after the retry delay");
    }));
}
