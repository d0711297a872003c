import test from "ava";
import { limitCostByRound, type Sample } from "../../bench/throughput-report.js";

// The bench's verdict on the rate limit's cost: (c − d) − (b − b0) read within each round, so that a machine whose
// speed drifts between rounds moves all four rows of a round together instead of deciding the verdict.

function sample(row: string, repeat: number, cpuUsPerReq: number, connections = 10): Sample {
  return {
    row,
    repeat,
    connections,
    cpuUsPerReq,
    requests: 1000,
    durationS: 10,
    rps: 100,
    p50Ms: 1,
    p99Ms: 2,
    non2xx: 0,
    errors: 0,
    redisUsPerReq: 0,
    redisCmdsPerReq: 0,
    redisScriptsPerReq: 0,
    neighbourShare: 0,
    stealShare: 0,
  };
}

test("bench: the limit's cost is paired within each round, whatever the drift between rounds", (t) => {
  // round 2 ran on a machine twice as slow: every row's CPU doubled
  const samples = [
    ...[1, 2].flatMap((round) =>
      [
        ["b0", 100],
        ["b", 130],
        ["c-undici", 140],
        ["d-undici", 105],
      ].map(([row, cpu]) => sample(row as string, round, (cpu as number) * round)),
    ),
    sample("c-undici", 1, 999, 50), // another concurrency: not read
  ];
  t.deepEqual(limitCostByRound(samples, "undici", 10), { excess: [5, 10], limit: [35, 70], evalsha: [30, 60] });
});

test("bench: a round missing one of the four rows is left out, and none at all gives no reading", (t) => {
  const samples = [
    sample("b0", 1, 100),
    sample("b", 1, 120),
    sample("c-undici", 1, 130),
    sample("d-undici", 1, 110),
    sample("b0", 2, 100),
    sample("b", 2, 120),
    sample("c-undici", 2, 500), // d-undici of round 2 failed to run
  ];
  t.deepEqual(limitCostByRound(samples, "undici", 10), { excess: [0], limit: [20], evalsha: [20] });
  t.is(limitCostByRound(samples, "http-proxy", 10), undefined);
});
