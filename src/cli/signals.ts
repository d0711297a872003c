import { exitAfterFlush, type Logger } from "../observability/log.js";

export interface SignalOptions {
  /** The signals that drain and stop (default SIGTERM and SIGINT). */
  signals?: readonly NodeJS.Signals[];
}

/** SIGTERM/SIGINT drain and exit 0 (a second one exits at once); SIGHUP runs `onReload`. */
export function handleSignals(
  logger: Logger,
  stop: () => Promise<void>,
  onReload?: () => Promise<unknown>,
  options: SignalOptions = {},
): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "draining in-flight requests, then stopping");
    stop().then(
      () => exitAfterFlush(logger, 0),
      (error: unknown) => {
        logger.error({ err: error }, "error while stopping");
        exitAfterFlush(logger, 1);
      },
    );
  };
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, () => shutdown(signal));
  if (onReload) {
    process.on("SIGHUP", () => {
      onReload().catch((error: unknown) => logger.error({ err: error }, "reload failed"));
    });
  }
}
