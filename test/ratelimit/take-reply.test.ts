import test from "ava";
import { parseTakeReply } from "../../src/ratelimit/batch.js";

// TAKE_LUA answers "now admitted d_1 ... d_n" (scripts.ts); anything else must fail the take, never read as numbers

test("a reply is read into the time, one admission per request and one TAT per key", (t) => {
  t.deepEqual(parseTakeReply("1765000000123456 10 5000 0 250", 2, 3), {
    now: 1765000000123456,
    admitted: [true, false],
    tats: [1765000000128456, 1765000000123456, 1765000000123706],
  });
});

for (const [reply, why] of [
  [[1, 1, 0], "an array (the script of an older gateway)"],
  ["1765000000123456 1", "a TAT missing"],
  ["1765000000123456 1 0 0", "a TAT too many"],
  ["1765000000123456 11 0", "an admission too many"],
  ["1765000000123456 x 0", "an admission that is neither 0 nor 1"],
  ["1765000000123456 1 1e3", "a TAT that is not an integer"],
  ["now 1 0", "a time that is not a number"],
  ["", "nothing"],
] as const) {
  test(`a reply with ${why} is refused`, (t) => {
    const parsed = parseTakeReply(reply, 1, 1);
    t.is(typeof parsed, "string");
  });
}

test("a reply with integers beyond 2^53 is refused", (t) => {
  t.is(typeof parseTakeReply("99999999999999999999 1 0", 1, 1), "string");
});
