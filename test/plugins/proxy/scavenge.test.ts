import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";

const child = fileURLToPath(new URL("./fixtures/scavenge-stream.ts", import.meta.url));
const MiB = 1024 * 1024;

// In a process of its own, started as the gateway is (without --expose-gc): the test runner's own GCs and heap
// would blur the figure
async function peakOf(mode: "on" | "off"): Promise<{ peak: number; gcInNewContexts: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import=tsx", child, mode], { timeout: 60_000 });
  return JSON.parse(stdout);
}

test("64 MiB of socket-sized chunks streamed through hold under 16 MiB of buffers, dead ones included", async (t) => {
  const [counted, uncounted] = await Promise.all([peakOf("on"), peakOf("off")]);
  t.log(
    `peak ArrayBuffers: ${(counted.peak / MiB).toFixed(1)} MiB scavenged, ${(uncounted.peak / MiB).toFixed(1)} MiB without`,
  );
  t.true(counted.peak < 16 * MiB, `${(counted.peak / MiB).toFixed(1)} MiB`);
  t.true(counted.peak < uncounted.peak / 2, "the scavenges are what keeps the peak down");
  t.is(counted.gcInNewContexts, "undefined", "--expose-gc is set only for the moment the collector is borrowed");
});
