import type { Server as TlsServer } from "node:tls";
import type { Config } from "../config/schema.js";
import { serverTlsConfig } from "../config/server-tls.js";
import { createGateway, type Gateway, type GatewayOptions } from "../gateway.js";
import { answerMetricRequests } from "../observability/cluster-metrics.js";
import { gatewayReadiness, type Readiness, withDraining } from "../observability/health.js";
import type { Logger } from "../observability/log.js";
import { createGatewayMetrics, type GatewayMetrics } from "../observability/metrics.js";
import type { RequestContext } from "../pipeline/context.js";
import { loadServerTls } from "../tls/context.js";
import { type TlsReloader, watchTlsFiles } from "../tls/watch.js";
import { type AdminListener, startAdmin } from "./admin.js";
import { type Listener, startListener } from "./listen.js";

export { serverTlsConfig } from "../config/server-tls.js";

export interface RunGatewayOptions extends Omit<GatewayOptions, "logger"> {
  logger: Logger;
  /**
   * Start the admin listener of config.admin (when admin.enabled). `serve` and `dev` do; the default is false, so
   * an embedder or a test that runs several gateways gets no second, fixed port it did not ask for.
   */
  admin?: boolean;
  /** A node:cluster worker: no admin listener; the primary gathers this registry's metrics over IPC. */
  clusterWorker?: boolean;
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly listener: Listener;
  /** This gateway's metrics (its own prom-client registry). */
  readonly metrics: GatewayMetrics;
  /** The admin listener, when one was started. */
  readonly admin: AdminListener | undefined;
  /** Re-reads the certificate files (what SIGHUP does). */
  reloadTls(): Promise<boolean>;
  /** Drains in-flight requests up to `drainMs`, then closes the listener and every plugin. */
  stop(drainMs?: number): Promise<void>;
}

/** Checks the certificates, builds the gateway and starts its listener: what `serve` and `dev` share. */
export async function runGateway(config: Config, options: RunGatewayOptions): Promise<RunningGateway> {
  const { logger, admin: withAdmin = false, clusterWorker = false, ...gatewayOptions } = options;
  const tlsConfig = serverTlsConfig(config);
  const checkHost = { host: config.listen.host };
  const tls = config.tls.enabled ? await loadServerTls(tlsConfig, checkHost) : undefined;
  for (const warning of tls?.warnings ?? []) logger.warn(warning);
  // what is served, not what is on disk: a renewal that failed its checks leaves the previous certificate in use
  let servedCert = typeof tls?.options.cert === "string" ? tls.options.cert : undefined;

  const metrics = createGatewayMetrics(tls === undefined ? {} : { certificate: () => servedCert });
  const reshape = gatewayOptions.plugins;
  const callerHook = gatewayOptions.onRequestEnd;
  const callerStageHook = gatewayOptions.onStageError;
  const gateway = await createGateway(config, {
    ...gatewayOptions,
    logger,
    plugins: (defaults) => metrics.instrument(reshape ? reshape(defaults) : defaults),
    onRequestEnd: (ctx: RequestContext) => {
      metrics.onRequestEnd(ctx);
      callerHook?.(ctx);
    },
    onStageError: (error, ctx, stage) => {
      try {
        metrics.onStageError(error, ctx, stage);
      } finally {
        callerStageHook?.(error, ctx, stage);
      }
    },
  });
  if (clusterWorker) answerMetricRequests(metrics.registry);
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
        onReload: (applied) => {
          if (typeof applied.cert === "string") servedCert = applied.cert;
          logger.info({ files }, "TLS certificates reloaded");
        },
        onError: (error) => logger.error({ err: error }, "TLS reload refused: still serving the previous certificate"),
      },
    );
  }
  let readiness: Readiness | undefined;
  let admin: AdminListener | undefined;
  let draining = false;
  if (withAdmin && !clusterWorker && config.admin.enabled) {
    readiness = await gatewayReadiness(config, { certificate: () => servedCert });
    readiness.registerMetrics(metrics.registry);
    const { registry } = metrics;
    const ready = readiness;
    admin = await startAdmin({
      host: config.admin.host,
      port: config.admin.port,
      logger,
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
      // a draining gateway is not ready: the load balancer stops sending before the listener closes
      readiness: async () => (draining ? withDraining(await ready.report()) : ready.report()),
    }).catch(async (error: unknown) => {
      await Promise.allSettled([listener.close(0), gateway.close(), ready.close()]);
      reloader?.close();
      throw error;
    });
    logger.info({ url: admin.url }, "admin listener: /metrics /healthz /readyz");
  }
  return {
    gateway,
    listener,
    metrics,
    admin,
    reloadTls: () => reloader?.reload() ?? Promise.resolve(false),
    async stop(drainMs = 10_000) {
      draining = true;
      reloader?.close();
      // the admin listener stays up while the gateway drains: /readyz keeps answering until the end
      await listener.close(drainMs);
      await Promise.all([gateway.close(), admin?.close(), readiness?.close()]);
    },
  };
}
