import test from "ava";
import { MemoryLimiter } from "../../src/ratelimit/memory.js";
import { coreSuite, entry, rule } from "./core-suite.js";

coreSuite("memory", async () => new MemoryLimiter());

// serial: ava runs it before the concurrent tests, whose timers its synchronous loop would otherwise delay
test.serial("memory: stays bounded under 100k distinct keys, the busiest key kept", async (t) => {
  const limiter = new MemoryLimiter({ maxKeys: 5_000 });
  const r = rule({ limit: 3, periodMs: 60_000 });
  const busy = entry(r, "i:busy");
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) {
    limiter.takeNow({ entries: [entry(r, `i:${i}`, "rotating")] });
    if (i % 1000 === 0) limiter.takeNow({ entries: [busy] }); // recently used, so never the one evicted
  }
  t.is(limiter.size, 5_000);
  t.false(limiter.takeNow({ entries: [busy] }).allowed);
  t.true(process.memoryUsage().heapUsed - before < 50 * 1024 * 1024);
});

test("memory: refills on the clock it is given, one request per T", (t) => {
  let now = 1_000;
  const limiter = new MemoryLimiter({ now: () => now });
  const e = entry(rule({ limit: 4, periodMs: 1000, burst: 2 }), "i:clock");
  t.deepEqual(
    [1, 2, 3].map(() => limiter.takeNow({ entries: [e] }).allowed),
    [true, true, false],
  );
  const denied = limiter.takeNow({ entries: [e] });
  t.is(denied.retryAfterMs, 250); // T = 1000 ms / 4
  now += 249;
  t.false(limiter.takeNow({ entries: [e] }).allowed);
  now += 1;
  t.true(limiter.takeNow({ entries: [e] }).allowed);
  now += 10_000; // long idle: back to the burst, never above it
  const rested = limiter.takeNow({ entries: [e] });
  t.like(rested.results[0], { remaining: 1, resetMs: 250 });
});
