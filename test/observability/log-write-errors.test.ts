import { fork } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import test from "ava";

const fixture = fileURLToPath(new URL("./fixtures/log-to-full-disk.ts", import.meta.url));

// /dev/full fails every write with ENOSPC, as a full disk does under a redirected stdout
test("stdout that fails every write (a full disk): the process keeps running, says so once on stderr, and stops when told", async (t) => {
  if (!existsSync("/dev/full")) return t.pass("no /dev/full on this system");
  const full = openSync("/dev/full", "w");
  const child = fork(fixture, ["500"], { execArgv: ["--import=tsx"], stdio: ["ignore", full, "pipe", "ipc"] });
  closeSync(full);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = once(child, "exit").then(([code]) => `exited with ${code}`);
  const within = (ms: number) =>
    new Promise<string>((resolve) => setTimeout(() => resolve(`nothing after ${ms} ms`), ms));
  const outcome = await Promise.race([once(child, "message").then(() => "alive"), exited, within(20_000)]);
  t.is(outcome, "alive", stderr);
  const reports = stderr
    .split("\n")
    .filter((line) => line.includes("writing log lines to stdout failed"))
    .map((line) => JSON.parse(line) as { level: string; code: string; failedWrites: number });
  t.is(reports.length, 1, stderr); // at most one report every 10 s
  t.is(reports[0]?.level, "error");
  t.is(reports[0]?.code, "ENOSPC");
  t.is(reports[0]?.failedWrites, 1);
  // the orderly stop gives up the lines it cannot write, instead of retrying them at exit forever
  child.send("stop");
  t.is(await Promise.race([exited, within(10_000)]), "exited with 0");
});
