import type { Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

// Our own request/answer over the cluster channel rather than AggregatorRegistry.clusterMetrics(): that one asks
// every connected worker, so a worker still starting (not answering yet) fails the whole scrape after 5 s.
const REQUEST = "portcullis:metrics?";
const ANSWER = "portcullis:metrics";

type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

interface MetricsMessage {
  type?: unknown;
  id?: unknown;
  metrics?: MetricsJson;
}

/** In a worker: answers the primary's metric requests with this registry's metrics. */
export function answerMetricRequests(registry: Registry): void {
  process.on("message", (message: MetricsMessage) => {
    if (message?.type !== REQUEST) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: ANSWER, id: message.id, metrics }),
      () => process.send?.({ type: ANSWER, id: message.id, metrics: [] }),
    );
  });
}

let nextId = 0;

/**
 * In the primary: asks each given worker for its metrics and aggregates what arrives within `timeoutMs` (counters
 * and histograms summed; gauges by their `aggregator`, e.g. the lowest certificate expiry). A worker that does not
 * answer in time is left out of this scrape rather than failing it.
 */
export async function gatherWorkerMetrics(workers: readonly Worker[], timeoutMs = 2_000): Promise<string> {
  const id = nextId++;
  const answers = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<MetricsJson | undefined>((resolve) => {
          const done = (metrics: MetricsJson | undefined): void => {
            clearTimeout(timer);
            worker.off("message", onMessage);
            worker.off("exit", onExit);
            resolve(metrics);
          };
          const onMessage = (message: MetricsMessage): void => {
            if (message?.type === ANSWER && message.id === id) done(message.metrics ?? []);
          };
          const onExit = (): void => done(undefined);
          const timer = setTimeout(() => done(undefined), timeoutMs);
          worker.on("message", onMessage);
          worker.once("exit", onExit);
          if (worker.isConnected()) worker.send({ type: REQUEST, id });
          else done(undefined);
        }),
    ),
  );
  const received = answers.filter((metrics): metrics is MetricsJson => metrics !== undefined);
  if (received.length === 0) return "";
  return AggregatorRegistry.aggregate(received).metrics();
}
