import type { Config } from "../config/schema.js";
import { exitAfterFlush, type Logger } from "../observability/log.js";
import { runGateway } from "../server/run.js";
import { type ClusterMessage, DRAIN, READY } from "./messages.js";
import { handleSignals } from "./signals.js";

/**
 * A worker of `serve --workers N`: the gateway on the port all workers share (the primary holds the socket and
 * hands connections round-robin), its metrics answered to the primary over IPC. It drains and exits 0 when the
 * primary says so, on SIGTERM of its own, or when the primary is gone (the channel closes): an orphan never keeps
 * serving. Ctrl-C reaches the whole process group; the primary alone acts on SIGINT and drains the workers.
 */
export async function runWorker(config: Config, logger: Logger, drainMs = 10_000): Promise<void> {
  const running = await runGateway(config, { logger, clusterWorker: true });
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, "worker draining");
      await running.stop(drainMs);
      exitAfterFlush(logger, 0);
    })();
    return stopping;
  };
  process.on("message", (message: ClusterMessage) => {
    if (message?.type === DRAIN) void stop("primary");
  });
  process.on("disconnect", () => void stop("primary gone"));
  if (!process.connected) void stop("primary gone"); // it went away while this worker was starting
  process.on("SIGINT", () => {}); // the primary's to handle
  handleSignals(
    logger,
    () => stop("SIGTERM"),
    () => running.reloadTls(),
    { signals: ["SIGTERM"] },
  );
  process.send?.({ type: READY, url: running.listener.url });
}
