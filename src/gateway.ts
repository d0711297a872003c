import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "./config/schema.js";
import { buildDefaultPlugins, type DefaultPluginDeps } from "./default-plugins.js";
import { createAccessLog } from "./observability/access-log.js";
import { type Logger, loggablePath } from "./observability/log.js";
import { clientAddress } from "./pipeline/client-address.js";
import type { RequestContext } from "./pipeline/context.js";
import { assertUniqueNames, type Plugin } from "./pipeline/plugin.js";
import { runPipeline, type StageErrorHook } from "./pipeline/run.js";

export interface GatewayOptions extends Partial<DefaultPluginDeps> {
  /** Reshapes the default stages, e.g. `(defaults) => insertBefore(defaults, "proxy", audit())`. */
  plugins?: (defaults: Plugin[]) => Plugin[];
  logger: Logger;
  /** Told about every request once it has ended (answered, failed or abandoned): metrics hook in here. */
  onRequestEnd?: (ctx: RequestContext) => void;
  /** Told which stage threw, before the error is answered: metrics classify backend failures here. */
  onStageError?: StageErrorHook;
}

export interface Gateway {
  /** A request listener for any node:http or node:https server. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly plugins: readonly Plugin[];
  /** Closes every plugin (upstream connections, Redis, timers). */
  close(): Promise<void>;
}

/**
 * Builds the gateway: the plugins in order, each free to answer and stop the request.
 * @example
 * const gateway = await createGateway(parseConfig({ upstream: { url: "https://vault:8200" } }), { logger });
 * https.createServer(tlsOptions, gateway.handler).listen(8200);
 */
export async function createGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const { logger, onRequestEnd, onStageError } = options;
  const logAccess = createAccessLog(logger);
  const defaults = await buildDefaultPlugins(config, options);
  const plugins = options.plugins ? options.plugins(defaults) : defaults;
  assertUniqueNames(plugins);
  const trustedProxies = new Set(config.trustedProxies);
  // an error line names its request explicitly: cheaper than an async-local scope around every request
  const logError = (error: unknown, ctx: RequestContext) =>
    logger.error(
      {
        err: error,
        requestId: ctx.id,
        method: ctx.req.method,
        path: ctx.path === "" ? undefined : loggablePath(ctx.path),
      },
      "request failed",
    );

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const address = clientAddress(req, trustedProxies);
    const ctx: RequestContext = {
      id: randomUUID(),
      req,
      res,
      startedAt: performance.now(),
      secure: "encrypted" in req.socket && req.socket.encrypted === true,
      identity: { ip: address.ip },
      forwardedFor: address.forwardedFor,
      path: "",
      query: "",
      upstreamHeaders: {},
      responseHeaders: {},
      responseHooks: [],
      logFields: {},
    };
    res.once("close", () => {
      logAccess(ctx);
      onRequestEnd?.(ctx);
    });
    void runPipeline(plugins, ctx, logError, onStageError);
  };

  return {
    handler,
    plugins,
    async close() {
      await Promise.allSettled(plugins.map((plugin) => plugin.close?.()));
    },
  };
}
