import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import { Deadlines } from "../../src/ratelimit/deadlines.js";

test("a wait is given up no sooner than its deadline, and once", async (t) => {
  const deadlines = new Deadlines(80);
  t.teardown(() => deadlines.close());
  const started = performance.now();
  const expired: number[] = [];
  deadlines.track(() => expired.push(performance.now() - started));
  await sleep(60);
  t.deepEqual(expired, [], "not before its deadline");
  await sleep(300); // 1.25 x 80 = 100 ms, plus slack for a busy machine
  t.is(expired.length, 1);
  t.true((expired[0] ?? 0) >= 80, `given up after ${expired[0]} ms`);
});

test("a wait settled in time is never given up, and settling after the deadline says it came too late", async (t) => {
  const deadlines = new Deadlines(40);
  t.teardown(() => deadlines.close());
  let expired = 0;
  const early = deadlines.track(() => expired++);
  const late = deadlines.track(() => expired++);
  t.true(deadlines.settle(early));
  await sleep(200);
  t.is(expired, 1);
  t.false(deadlines.settle(late));
});

test("watch: the outcome when it comes in time, a rejection naming the deadline when it does not", async (t) => {
  const deadlines = new Deadlines(40);
  t.teardown(() => deadlines.close());
  t.is(await deadlines.watch(Promise.resolve("answer")), "answer");
  await t.throwsAsync(deadlines.watch(new Promise(() => {})), { message: /no answer within 40 ms/ });
});
