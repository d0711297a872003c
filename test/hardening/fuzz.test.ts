import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { runFuzz } from "./helpers/fuzz-run.js";
import { FUZZ_TOKEN, mutatedRequests } from "./helpers/mutate.js";

test("500 mutated requests over TLS: the gateway keeps answering, every error is in the errors shape, no token is logged", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, limits: { headersTimeoutMs: 2_000 } });
  t.teardown(() => gw.close());
  const seed = Date.now() % 100_000;
  const rssBefore = process.memoryUsage().rss;
  const report = await runFuzz(gw.port, mutatedRequests(seed, 500), {
    probe: async () => (await gw.request("/v1/secret/probe")).status === 200,
  });
  const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  t.log(
    `seed ${seed}: ${report.sent} sent, ${report.responses} responses, ${report.errorShape.errors} >= 400, ` +
      `${report.errorShape.percent.toFixed(1)} % in the errors shape, ${report.probes} probes, rss +${rssGrowthMb.toFixed(0)} MB`,
  );
  t.is(report.failedProbes, 0, `seed ${seed}`);
  t.deepEqual(report.unreadable, [], `seed ${seed}`);
  t.deepEqual(report.errorShape.offenders, [], `seed ${seed}`);
  t.true(report.errorShape.errors > 100);
  t.true(rssGrowthMb < 200, `rss grew ${rssGrowthMb} MB`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const secret of [TEST_TOKEN, FUZZ_TOKEN, "fuzz-secret"]) t.false(gw.rawLog().includes(secret), secret);
});
