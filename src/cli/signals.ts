import type { Logger } from "../observability/log.js";

/** SIGTERM/SIGINT drain and exit 0 (a second one exits at once); SIGHUP runs `onReload`. */
export function handleSignals(logger: Logger, stop: () => Promise<void>, onReload?: () => Promise<unknown>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "draining in-flight requests, then stopping");
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  if (onReload) process.on("SIGHUP", () => void onReload());
}
