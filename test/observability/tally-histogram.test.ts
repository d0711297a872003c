import test from "ava";
import { AggregatorRegistry, Histogram, Registry } from "prom-client";
import { TallyHistogram } from "../../src/observability/tally-histogram.js";

// The gateway's duration histograms tally observations themselves (prom-client's observe hashes the labels on every
// call); what a scrape sees must be exactly what prom-client's own Histogram shows for the same observations.

const BUCKETS = [0.001, 0.01, 0.1, 1];
// on a bound, between bounds, past the last bound, zero, and a value observed twice
const VALUES: Array<[number, string]> = [
  [0.001, "secret"],
  [0.005, "secret"],
  [0.005, "secret"],
  [2.5, "auth/token"],
  [0, "sys/health"],
  [0.1, "auth/token"],
];

function pair(labelled: boolean) {
  const theirs = new Registry();
  const ours = new Registry();
  const config = { name: "d_seconds", help: "A duration", buckets: BUCKETS };
  const reference = new Histogram({ ...config, labelNames: labelled ? ["route"] : [], registers: [theirs] });
  const tally = new TallyHistogram({ ...config, ...(labelled ? { labelName: "route" } : {}), registers: [ours] });
  const observe = (value: number, route: string) => {
    if (labelled) reference.observe({ route }, value);
    else reference.observe(value);
    tally.observe(value, route);
  };
  return { theirs, ours, observe };
}

for (const labelled of [true, false]) {
  const kind = labelled ? "with a label" : "without labels";

  test(`tally histogram ${kind}: the same text and JSON as prom-client's Histogram`, async (t) => {
    const { theirs, ours, observe } = pair(labelled);
    t.is(await ours.metrics(), await theirs.metrics(), "before any observation");
    for (const [value, route] of VALUES) observe(value, route);
    const text = await ours.metrics();
    t.is(text, await theirs.metrics());
    t.regex(text, labelled ? /d_seconds_bucket\{le="0.01",route="secret"\} 3/ : /d_seconds_bucket\{le="0.01"\} 4/);
    t.regex(text, labelled ? /d_seconds_count\{route="auth\/token"\} 2/ : /d_seconds_count 6/);
    t.deepEqual(
      JSON.parse(JSON.stringify(await ours.getMetricsAsJSON())),
      JSON.parse(JSON.stringify(await theirs.getMetricsAsJSON())),
    );
  });

  test(`tally histogram ${kind}: workers' histograms add up in the cluster's aggregate, and a reset empties it`, async (t) => {
    const a = pair(labelled);
    const b = pair(labelled);
    for (const [value, route] of VALUES) a.observe(value, route);
    for (const [value, route] of VALUES.slice(2)) b.observe(value, route);
    const aggregate = async (x: Registry, y: Registry) =>
      AggregatorRegistry.aggregate([await x.getMetricsAsJSON(), await y.getMetricsAsJSON()]).metrics();
    t.is(await aggregate(a.ours, b.ours), await aggregate(a.theirs, b.theirs));
    a.ours.resetMetrics();
    a.theirs.resetMetrics();
    t.is(await a.ours.metrics(), await a.theirs.metrics());
  });
}

test("tally histogram: a value that is not finite is not counted", async (t) => {
  const { ours } = pair(true);
  const tally = ours.getSingleMetric("d_seconds") as unknown as TallyHistogram;
  tally.observe(Number.NaN, "secret");
  tally.observe(Number.POSITIVE_INFINITY, "secret");
  tally.observe(0.5, "secret");
  t.regex(await ours.metrics(), /d_seconds_count\{route="secret"\} 1\n/);
});
