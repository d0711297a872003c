import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import test from "ava";

const fixture = fileURLToPath(new URL("./fixtures/log-then-stop.ts", import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A log collector that falls behind leaves the pipe full: a write is then in the I/O thread pool's hands (or waits to
// be tried again) when SIGTERM comes. The orderly exit must wait for it, not cut it off or write past it.
test("SIGTERM while stdout is backed up: every line logged before it arrives, whole and in order", async (t) => {
  const count = 8_000; // ~2 MB: far more than a pipe holds
  const child = fork(fixture, [String(count)], {
    execArgv: ["--import=tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const stdout = child.stdout;
  if (stdout === null) return t.fail("no stdout pipe");
  stdout.pause(); // nobody reads yet: the pipe fills
  await once(child, "message");
  await sleep(300);
  child.kill("SIGTERM");
  await sleep(100); // the exit path runs while the pipe is still full (it waits at most 2 s for it)
  const chunks: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  stdout.resume();
  const [code] = await once(child, "exit");
  if (!stdout.readableEnded) await once(stdout, "end");
  t.is(code, 0);
  const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean);
  const indexes: number[] = [];
  let broken = 0;
  for (const line of lines) {
    try {
      const { i } = JSON.parse(line) as { i?: number };
      if (i !== undefined) indexes.push(i);
    } catch {
      broken++; // a line cut off, or two run together
    }
  }
  t.is(broken, 0, "lines that are not whole JSON");
  t.is(indexes.length, count);
  t.true(
    indexes.every((i, at) => i === at),
    "lines in order",
  );
});
