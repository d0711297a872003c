import test from "ava";
import fc from "fast-check";
import { startBackend } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { runPathCampaign } from "./helpers/path-campaign.js";
import { MUST_REFUSE, requestTarget } from "./helpers/path-model.js";

test("1 000 generated targets over TLS: the backend gets exactly the classified path, or nothing", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  // no rate-limit rules: login paths would otherwise be limited before they reach the comparison
  const gw = await startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [] } });
  t.teardown(() => gw.close());
  const seed = Date.now() % 1_000_000;
  const targets = [...MUST_REFUSE.map(([target]) => target), ...fc.sample(requestTarget, { numRuns: 1_000, seed })];
  const started = performance.now();
  const result = await runPathCampaign(gw.port, backend, targets);
  const ms = Math.round(performance.now() - started);
  t.log(`seed ${seed}: ${result.sent} sent, ${result.accepted} accepted, ${result.errorShape.errors} errors, ${ms} ms`);
  t.deepEqual(result.forwardMismatches, [], `seed ${seed}`);
  t.deepEqual(result.statusMismatches, [], `seed ${seed}`);
  t.deepEqual(result.errorShape.offenders, []);
  t.is(result.errorShape.percent, 100);
});
