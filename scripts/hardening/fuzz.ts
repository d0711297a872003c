// The long fuzz run (issue 5): `npm run hardening:fuzz [-- --count 50000 --seed 7]`.
// `portcullis serve` runs as its own process; mutated requests go to it over raw TLS, 16 connections at a time,
// while a normal request must keep succeeding and the process's resident memory is sampled from /proc.
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { parseArgs } from "node:util";
import { spawnServe } from "../../test/hardening/helpers/cli-gateway.js";
import { runFuzz } from "../../test/hardening/helpers/fuzz-run.js";
import { FUZZ_TOKEN, mutatedRequests } from "../../test/hardening/helpers/mutate.js";
import { startBackend, TEST_TOKEN } from "../../test/helpers/backend.js";
import { testPki } from "../../test/helpers/tls.js";
import { Report } from "./report.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "50000" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
const report = new Report(`fuzz: ${count} mutated requests against portcullis serve (seed ${seed})`);

const backend = await startBackend();
const gw = await spawnServe({ upstream: { url: backend.url } });
const agent = new Agent({ ca: testPki().ca.cert, keepAlive: true });
const probe = () =>
  new Promise<boolean>((resolve) => {
    const req = request(
      { host: "127.0.0.1", port: gw.port, path: "/v1/secret/probe", agent, servername: "localhost" },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.setHeader("x-nomad-token", TEST_TOKEN);
    req.setTimeout(5_000, () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
const rss = async () => {
  const status = await readFile(`/proc/${gw.child.pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};

const samples: number[] = [await rss()];
let lastSample = 0;
const started = performance.now();
const result = await runFuzz(gw.port, mutatedRequests(seed, count), {
  probe,
  probeEvery: 100,
  onProgress: (done) => {
    if (done - lastSample < 1_000) return;
    lastSample = done;
    void rss().then((mb) => samples.push(mb));
    if (done % 10_000 < 100) process.stderr.write(`  ${done} sent, rss ${samples.at(-1)?.toFixed(0)} MB\n`);
  },
});
samples.push(await rss());
const alive = gw.child.exitCode === null && (await probe());
const log = gw.output.join("\n");
const tokensInLogs = [TEST_TOKEN, FUZZ_TOKEN, "fuzz-secret"].filter((secret) => log.includes(secret)).length;

report.line("mutated requests sent", result.sent);
report.line("responses read", result.responses);
report.check("gateway process still running and answering", alive ? 1 : 0, (v) => v === 1, alive ? "yes" : "NO");
report.check(`normal requests that failed meanwhile (of ${result.probes})`, result.failedProbes, (n) => n === 0);
report.check("response streams the client could not read", result.unreadable.length, (n) => n === 0);
report.details(result.unreadable);
report.errorShape(result.errorShape);
report.check("tokens found in the gateway's logs", tokensInLogs, (n) => n === 0);
const warm = samples[Math.min(2, samples.length - 1)] ?? 0;
const peak = Math.max(...samples);
report.line(
  "resident memory: start / after warm-up / peak / end",
  samples.length > 0
    ? [samples[0], warm, peak, samples.at(-1)].map((m) => `${(m ?? 0).toFixed(0)} MB`).join(" / ")
    : "-",
);
report.check(
  "resident memory growth after warm-up (bounded: < 100 MB)",
  peak - warm,
  (g) => g < 100,
  `${(peak - warm).toFixed(0)} MB`,
);
report.line("time", `${Math.round((performance.now() - started) / 1000)} s`);
agent.destroy();
await gw.stop();
await backend.close();
report.finish();
