import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { FLUSH_MS } from "../../src/observability/log.js";

const writer = fileURLToPath(new URL("./fixtures/log-writer.ts", import.meta.url));

/** Runs the writer; resolves with what reached its stdout by `untilMs` after it logged, or by its exit. */
function run(bufferBytes: number, ending: string, untilMs = 10_000) {
  const child = fork(writer, [String(bufferBytes), ending], {
    execArgv: ["--import=tsx"],
    stdio: ["ignore", "pipe", "ignore", "ipc"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  return new Promise<{ lines: number; exitCode: number | null }>((resolve) => {
    const done = () => resolve({ lines: out.split("\n").filter(Boolean).length, exitCode: child.exitCode });
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

test("buffered lines reach stdout within the flush interval, though far fewer than the buffer size", async (t) => {
  // ten lines are ~1 kB, under the 4 kB buffer: only the timer writes them
  const { lines } = await run(4096, "wait", FLUSH_MS + 1_000);
  t.is(lines, 10);
});

test("a process that exits writes out every buffered line first", async (t) => {
  const { lines, exitCode } = await run(4096, "exit");
  t.is(exitCode, 0);
  t.is(lines, 10);
});

test("a process that crashes writes out every buffered line first", async (t) => {
  const { lines, exitCode } = await run(4096, "throw");
  t.is(exitCode, 1);
  t.is(lines, 10);
});

test("bufferBytes 0 writes each line at once", async (t) => {
  // no timer runs without a buffer: lines there well before a flush interval means they went out directly
  const { lines } = await run(0, "wait", FLUSH_MS / 5);
  t.is(lines, 10);
});
