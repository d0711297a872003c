import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { DEFAULT_BUFFER_BYTES, MAX_BUFFER_BYTES } from "../../src/observability/log.js";

const writer = fileURLToPath(new URL("./fixtures/log-writer.ts", import.meta.url));

/** Runs the writer; resolves with what reached its stdout by `untilMs` after it logged, or by its exit. */
function run(
  bufferBytes: number,
  ending: string,
  options: { flushMs?: number; untilMs?: number; count?: number } = {},
) {
  const { flushMs = 250, untilMs = 10_000, count = 10 } = options;
  const child = fork(writer, [String(bufferBytes), ending, String(flushMs), String(count)], {
    execArgv: ["--import=tsx"],
    stdio: ["ignore", "pipe", "ignore", "ipc"],
  });
  const chunks: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise<{ lines: number; exitCode: number | null; out: string }>((resolve) => {
    const done = () => {
      // decoded once at the end: a character split between two reads must still count as whole
      const out = Buffer.concat(chunks).toString("utf8");
      resolve({ lines: out.split("\n").filter(Boolean).length, exitCode: child.exitCode, out });
    };
    const deadline = setTimeout(() => {
      done();
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    }, 30_000);
    child.once("message", () => {
      if (ending !== "wait") return;
      setTimeout(() => {
        clearTimeout(deadline);
        done();
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      }, untilMs);
    });
    child.once("exit", () => {
      clearTimeout(deadline);
      // the pipe may still hold the last lines when the exit is reported
      child.stdout?.once("end", done);
      if (child.stdout?.readableEnded) done();
    });
  });
}

// ten lines are ~1 kB, under the buffer: only the flush timer (or the exit) writes them
test("buffered lines wait for the flush timer", async (t) => {
  const { lines } = await run(MAX_BUFFER_BYTES, "wait", { flushMs: 60_000, untilMs: 1_500 });
  t.is(lines, 0);
});

test("buffered lines reach stdout once the flush timer fires", async (t) => {
  const { lines } = await run(MAX_BUFFER_BYTES, "wait", { flushMs: 250, untilMs: 2_000 });
  t.is(lines, 10);
});

test("a process that exits writes out every buffered line first", async (t) => {
  const { lines, exitCode } = await run(MAX_BUFFER_BYTES, "exit", { flushMs: 60_000 });
  t.is(exitCode, 0);
  t.is(lines, 10);
});

test("a process that crashes writes out every buffered line first", async (t) => {
  const { lines, exitCode } = await run(MAX_BUFFER_BYTES, "throw", { flushMs: 60_000 });
  t.is(exitCode, 1);
  t.is(lines, 10);
});

test("bufferBytes 0 writes each line at once, without waiting for a timer", async (t) => {
  const { lines } = await run(0, "wait", { flushMs: 60_000, untilMs: 2_000 });
  t.is(lines, 10);
});

// 2000 lines are ~250 kB: several full writes, then a remainder under the buffer that only the exit or the timer
// writes. Every line must arrive whole, once, in order, with its characters outside ASCII intact.
for (const ending of ["exit", "wait"] as const) {
  test(`many lines, more than several writes hold, all arrive whole and in order (${ending})`, async (t) => {
    const { out } = await run(DEFAULT_BUFFER_BYTES, ending, { flushMs: 250, untilMs: 2_000, count: 2000 });
    const records = out
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { i: number; text: string; msg: string });
    t.deepEqual(
      records.map((r) => r.i),
      Array.from({ length: 2000 }, (_, i) => i),
    );
    t.true(records.every((r) => r.text === "naïve ✓ 秘密" && r.msg === "line"));
  });
}
