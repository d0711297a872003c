import type { Server as TlsServer } from "node:tls";
import { compact } from "../config/compact.js";
import type { Config } from "../config/schema.js";
import { createGateway, type Gateway, type GatewayOptions } from "../gateway.js";
import type { Logger } from "../observability/log.js";
import { loadServerTls, type ServerTlsConfig } from "../tls/context.js";
import { type TlsReloader, watchTlsFiles } from "../tls/watch.js";
import { type Listener, startListener } from "./listen.js";

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly listener: Listener;
  /** Re-reads the certificate files (what SIGHUP does). */
  reloadTls(): Promise<boolean>;
  /** Drains in-flight requests up to `drainMs`, then closes the listener and every plugin. */
  stop(drainMs?: number): Promise<void>;
}

/** The listener's TLS settings as the tls/ module takes them. */
export function serverTlsConfig(config: Config): ServerTlsConfig {
  const { certFile, keyFile, clientCerts } = config.tls;
  return {
    certFile,
    keyFile,
    clientCerts: clientCerts.mode,
    refuseAtHandshake: clientCerts.refuseAtHandshake,
    ...compact({ caFile: clientCerts.caFile, crlFile: clientCerts.crlFile }),
  };
}

/** Checks the certificates, builds the gateway and starts its listener: what `serve` and `dev` share. */
export async function runGateway(
  config: Config,
  options: Omit<GatewayOptions, "logger"> & { logger: Logger },
): Promise<RunningGateway> {
  const { logger } = options;
  const tlsConfig = serverTlsConfig(config);
  const checkHost = { host: config.listen.host };
  const tls = config.tls.enabled ? await loadServerTls(tlsConfig, checkHost) : undefined;
  for (const warning of tls?.warnings ?? []) logger.warn(warning);

  const gateway = await createGateway(config, options);
  const listener = await startListener(gateway.handler, {
    host: config.listen.host,
    port: config.listen.port,
    tls: tls?.options ?? false,
    limits: config.limits,
    logger,
  });
  let reloader: TlsReloader | undefined;
  if (tls !== undefined) {
    const files = [tlsConfig.certFile, tlsConfig.keyFile, tlsConfig.caFile, tlsConfig.crlFile].filter(
      (file): file is string => file !== undefined,
    );
    reloader = watchTlsFiles(
      listener.server as unknown as TlsServer,
      async () => (await loadServerTls(tlsConfig, checkHost)).options,
      {
        files,
        onReload: () => logger.info({ files }, "TLS certificates reloaded"),
        onError: (error) => logger.error({ err: error }, "TLS reload refused: still serving the previous certificate"),
      },
    );
  }
  return {
    gateway,
    listener,
    reloadTls: () => reloader?.reload() ?? Promise.resolve(false),
    async stop(drainMs = 10_000) {
      reloader?.close();
      await listener.close(drainMs);
      await gateway.close();
    },
  };
}
