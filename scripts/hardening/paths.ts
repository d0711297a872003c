// The long run of the path property (issue 5): `npm run hardening:paths [-- --runs 100000 --seed 42]`.
// Every generated request target is classified in-process and checked against every backend reading of what would
// be forwarded (path-model.ts), then sent over raw TLS through a real gateway to a Node backend, which must receive
// exactly the classified path or nothing.
import { parseArgs } from "node:util";
import fc from "fast-check";
import { runPathCampaign } from "../../test/hardening/helpers/path-campaign.js";
import { classify, disagreements, MUST_REFUSE, requestTarget } from "../../test/hardening/helpers/path-model.js";
import { startBackend } from "../../test/helpers/backend.js";
import { startGateway } from "../../test/helpers/gateway.js";
import { Report } from "./report.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100000" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    "skip-wire": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const report = new Report(`path classification, ${runs} generated targets (seed ${seed})`);

const targets = [...MUST_REFUSE.map(([target]) => target), ...fc.sample(requestTarget, { numRuns: runs, seed })];
const found: string[] = [];
let accepted = 0;
let started = performance.now();
for (const target of targets) {
  if ("accepted" in classify(target)) accepted++;
  for (const problem of disagreements(target)) found.push(`${JSON.stringify(target)}: ${problem}`);
}
report.line("targets (generated + the must-refuse table)", targets.length);
report.line("accepted by the route stage", `${accepted} (${((100 * accepted) / targets.length).toFixed(1)} %)`);
report.check("disagreements with a backend's reading (in-process)", found.length, (n) => n === 0);
report.details(found);
report.line("in-process time", `${Math.round(performance.now() - started)} ms`);

if (!values["skip-wire"]) {
  const backend = await startBackend();
  const gw = await startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [] } });
  started = performance.now();
  const wire = await runPathCampaign(gw.port, backend, targets, 32);
  report.check(
    "forwarded path differs from the classified one (over TLS)",
    wire.forwardMismatches.length,
    (n) => n === 0,
  );
  report.details(wire.forwardMismatches);
  report.check("client status differs from the classifier's verdict", wire.statusMismatches.length, (n) => n === 0);
  report.details(wire.statusMismatches);
  report.errorShape(wire.errorShape);
  report.line("sent again after a 503 (backend connection reset, not a path issue)", wire.retriedAfter503);
  report.line("over-TLS time", `${Math.round((performance.now() - started) / 1000)} s`);
  await gw.close();
  await backend.close();
}
report.finish();
