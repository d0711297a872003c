import cluster, { type Worker } from "node:cluster";
import { Gauge, Registry } from "prom-client";
import type { Config } from "../config/schema.js";
import { gatherWorkerMetrics } from "../observability/cluster-metrics.js";
import { gatewayReadiness, type Readiness, withDraining } from "../observability/health.js";
import { exitAfterFlush, type Logger } from "../observability/log.js";
import { type AdminListener, startAdmin } from "../server/admin.js";
import { type ClusterMessage, DRAIN, READY } from "./messages.js";
import { handleSignals } from "./signals.js";

export interface PrimaryOptions {
  readonly workers: number;
  /** How long a worker may take to finish its in-flight requests after SIGTERM (default 10 s). */
  readonly drainMs?: number;
}

/**
 * The primary of `serve --workers N`: forks the workers, replaces one that dies (at once the first time, then
 * with a doubling delay while deaths keep coming within a minute: a crash loop must not spin), and serves the
 * admin listener for all of them. Metrics are gathered from every listening worker at scrape time and merged with
 * prom-client's AggregatorRegistry.aggregate, so one scrape sees the whole process group (counters summed, the
 * certificate expiry the lowest). One admin port in the primary rather than one per worker: workers share their
 * listening sockets through the primary, so a per-worker admin port would answer for a random worker each scrape.
 * SIGTERM/SIGINT: every worker drains, then the primary exits 0. SIGHUP is passed to every worker (certificates).
 */
export async function runPrimary(config: Config, logger: Logger, options: PrimaryOptions): Promise<void> {
  const drainMs = options.drainMs ?? 10_000;
  const ready = new Map<number, Worker>(); // worker id -> worker, once it listens
  const recentDeaths: number[] = [];
  const respawns = new Set<NodeJS.Timeout>();
  let stopping = false;
  let everReady = false;
  let announced = false;
  let admin: AdminListener | undefined;
  let readiness: Readiness | undefined;

  // a signal during a stop joins it (its exit code stands: a failed start is not turned into a clean exit)
  let stopped: Promise<void> | undefined;
  const shutdown = (exitCode: number): Promise<void> => {
    stopped ??= stop(exitCode);
    return stopped;
  };
  const stop = async (exitCode: number): Promise<void> => {
    stopping = true;
    for (const timer of respawns) clearTimeout(timer);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    logger.info({ workers: workers.length }, "draining workers");
    const exited = workers.map((worker) =>
      worker.isDead() ? Promise.resolve() : new Promise<void>((resolve) => worker.once("exit", () => resolve())),
    );
    for (const worker of workers) {
      // a worker still starting has no handler for the message yet: a signal ends it (or drains it, once it has)
      if (ready.has(worker.id) && worker.isConnected()) worker.send({ type: DRAIN });
      else if (!worker.isDead()) worker.process.kill("SIGTERM");
    }
    // a worker that outlives its drain deadline (and some slack to exit) is killed: the primary must end
    const deadline = setTimeout(() => {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill("SIGKILL");
    }, drainMs + 5_000);
    await Promise.all(exited);
    clearTimeout(deadline);
    await Promise.all([admin?.close(), readiness?.close()]);
    logger.info({ exitCode }, "all workers stopped");
    exitAfterFlush(logger, exitCode);
  };

  const fork = (): void => {
    const worker = cluster.fork();
    const startedAt = Date.now();
    worker.on("message", (message: ClusterMessage) => {
      if (message?.type !== READY) return;
      ready.set(worker.id, worker);
      everReady = true;
      logger.info({ worker: worker.id, workerPid: worker.process.pid }, "worker ready");
      if (!announced && ready.size === options.workers) {
        announced = true;
        const fields = { url: message.url, upstream: config.upstream.url, workers: options.workers };
        logger.info(fields, "portcullis listening");
      }
    });
    worker.on("exit", (code, signal) => {
      ready.delete(worker.id);
      if (stopping) return;
      if (!everReady) {
        // no worker ever came up: the configuration or the environment is at fault, and forking again will not help
        logger.error({ workerPid: worker.process.pid, code, signal }, "a worker failed at start: stopping");
        void shutdown(1);
        return;
      }
      const now = Date.now();
      recentDeaths.push(now);
      while ((recentDeaths[0] ?? now) < now - 60_000) recentDeaths.shift();
      const delayMs = recentDeaths.length <= 1 ? 0 : Math.min(30_000, 250 * 2 ** (recentDeaths.length - 2));
      const fields = { workerPid: worker.process.pid, code, signal, livedMs: now - startedAt, delayMs };
      logger.warn(fields, "worker exited: replacing it");
      const timer = setTimeout(() => {
        respawns.delete(timer);
        if (!stopping) fork();
      }, delayMs);
      respawns.add(timer);
    });
  };

  handleSignals(
    logger,
    () => shutdown(0),
    async () => {
      logger.info({ workers: ready.size }, "SIGHUP: workers reload their certificates");
      for (const worker of ready.values()) worker.process.kill("SIGHUP");
    },
  );
  // the workers start first: they take longest, and the admin listener comes up meanwhile
  for (let i = 0; i < options.workers; i++) fork();

  const own = new Registry();
  new Gauge({
    name: "portcullis_cluster_workers",
    help: "Workers listening now (of `serve --workers N`)",
    registers: [own],
    collect() {
      this.set(ready.size);
    },
  });
  const checks = await gatewayReadiness(config, {
    extra: { workers: async () => ({ ok: ready.size > 0, listening: ready.size, configured: options.workers }) },
  });
  readiness = checks;
  checks.registerMetrics(own);
  if (!config.admin.enabled) return;
  admin = await startAdmin({
    host: config.admin.host,
    port: config.admin.port,
    logger,
    metrics: async () => {
      const workers = await gatherWorkerMetrics([...ready.values()]);
      return { contentType: own.contentType, body: `${workers.trimEnd()}\n${await own.metrics()}`.trimStart() };
    },
    readiness: async () => (stopping ? withDraining(await checks.report()) : checks.report()),
  });
  logger.info({ url: admin.url }, "admin listener: /metrics /healthz /readyz");
}
