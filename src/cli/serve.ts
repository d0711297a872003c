import { loadConfigFile } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { createLogger } from "../observability/log.js";
import { runGateway, serverTlsConfig } from "../server/run.js";
import { loadServerTls } from "../tls/context.js";
import { handleSignals } from "./signals.js";

/** `portcullis serve --config FILE`: the gateway in front of the configured backend. */
export async function runServe(configFile: string): Promise<void> {
  const config = await loadConfigFile(configFile);
  const logger = createLogger({ level: config.log.level });
  const running = await runGateway(config, { logger });
  logger.info({ url: running.listener.url, upstream: config.upstream.url }, "portcullis listening");
  handleSignals(
    logger,
    () => running.stop(),
    () => running.reloadTls(),
  );
}

/** `portcullis check --config FILE`: validates the file and the certificates it names, then exits. */
export async function runCheck(configFile: string): Promise<Config> {
  const config = await loadConfigFile(configFile);
  if (config.tls.enabled) {
    const { warnings } = await loadServerTls(serverTlsConfig(config), { host: config.listen.host });
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  }
  return config;
}
