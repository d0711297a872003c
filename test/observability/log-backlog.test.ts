import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";

const flood = fileURLToPath(new URL("./fixtures/log-flood.ts", import.meta.url));

test("lines for a stdout nobody reads are dropped past the backlog bound, counted on stderr, not kept in memory", async (t) => {
  // 40 MiB of lines against a 1 MiB backlog; the parent never reads the child's stdout, so the pipe fills at once
  const child = fork(flood, ["40", String(1024 * 1024)], {
    execArgv: ["--import=tsx", "--expose-gc"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  t.teardown(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
  });
  child.stdout?.pause();
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const report = await new Promise<{ grewBytes: number; lines: number }>((resolve, reject) => {
    child.once("message", (message) => resolve(message as { grewBytes: number; lines: number }));
    child.once("exit", (code) => reject(new Error(`the writer exited with ${code}: ${stderr}`)));
  });
  t.true(report.grewBytes < 8 * 1024 * 1024, `heap and buffers grew ${Math.round(report.grewBytes / 1024)} KiB`);
  const notice = stderr.split("\n").find((line) => line.includes("log lines dropped"));
  t.truthy(notice, stderr);
  if (notice !== undefined) {
    const parsed = JSON.parse(notice) as { level: string; droppedLines: number };
    t.is(parsed.level, "error");
    t.true(parsed.droppedLines > 0);
  }
});
