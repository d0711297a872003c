import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { loadConfig } from "../config/load.js";
import type { ConfigFlags } from "../config/overrides.js";
import type { Config } from "../config/schema.js";
import { serverTlsConfig } from "../config/server-tls.js";
import { ConfigError } from "../errors/gateway-error.js";
import { createLogger } from "../observability/log.js";
import { loadServerTls } from "../tls/context.js";
import { handleSignals } from "./signals.js";

export interface ServeOptions {
  /** --config; PORTCULLIS_CONFIG when absent. */
  configFile?: string | undefined;
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
}

/** The configuration of `serve` and `check`: the file, then PORTCULLIS_* variables, then flags. */
export async function loadServeConfig(options: ServeOptions): Promise<Config> {
  const env = options.env ?? process.env;
  const file = options.configFile ?? (env.PORTCULLIS_CONFIG || undefined);
  if (file === undefined) throw new ConfigError("needs --config FILE (or PORTCULLIS_CONFIG)");
  return loadConfig({ file, env, flags: options.flags ?? {} });
}

/**
 * `portcullis serve --config FILE`: the gateway in front of the configured backend, in `workers` processes
 * (node:cluster; default one per core) or, with 1, in this process alone.
 */
export async function runServe(options: ServeOptions): Promise<void> {
  const config = await loadServeConfig(options);
  const workers = cluster.isWorker ? 1 : (config.workers ?? availableParallelism());
  const logger = createLogger({
    level: config.log.level,
    bufferBytes: config.log.bufferBytes,
    // the primary writes to the stdout its workers inherit
    sharedStdout: cluster.isWorker || workers > 1,
  });
  // each role loads only its own modules: the primary runs no gateway, a worker no admin listener
  if (cluster.isWorker) return (await import("./worker.js")).runWorker(config, logger);
  if (workers > 1) {
    // the certificates are checked once here, so a bad file stops the start with one message, not one per worker
    await checkCertificates(config);
    return (await import("./cluster.js")).runPrimary(config, logger, { workers });
  }
  const { runGateway } = await import("../server/run.js");
  const running = await runGateway(config, { logger, admin: true });
  logger.info({ url: running.listener.url, upstream: config.upstream.url, workers: 1 }, "portcullis listening");
  handleSignals(
    logger,
    () => running.stop(),
    () => running.reloadTls(),
  );
}

/** `portcullis check --config FILE`: validates the file and the certificates it names, then exits. */
export async function runCheck(options: ServeOptions): Promise<Config> {
  const config = await loadServeConfig(options);
  for (const warning of await checkCertificates(config)) process.stderr.write(`warning: ${warning}\n`);
  return config;
}

async function checkCertificates(config: Config): Promise<string[]> {
  if (!config.tls.enabled) return [];
  return (await loadServerTls(serverTlsConfig(config), { host: config.listen.host })).warnings;
}
