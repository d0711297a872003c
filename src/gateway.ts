import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "./config/schema.js";
import { buildDefaultPlugins, type DefaultPluginDeps } from "./default-plugins.js";
import { type Logger, loggablePath } from "./observability/log.js";
import { clientAddress } from "./pipeline/client-address.js";
import type { RequestContext } from "./pipeline/context.js";
import { assertUniqueNames, type Plugin } from "./pipeline/plugin.js";
import { runPipeline } from "./pipeline/run.js";

export interface GatewayOptions extends Partial<DefaultPluginDeps> {
  /** Reshapes the default stages, e.g. `(defaults) => insertBefore(defaults, "proxy", audit())`. */
  plugins?: (defaults: Plugin[]) => Plugin[];
  logger: Logger;
  /** Told about every request once it has ended (answered, failed or abandoned): metrics hook in here. */
  onRequestEnd?: (ctx: RequestContext) => void;
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
  const { logger, onRequestEnd } = options;
  // The access line is a fixed set of fields built here from values that are safe by construction (no header, no
  // body, a token only as a prefix of its keyed hash), so it skips the wildcard redaction every other line gets:
  // measured at ~200 µs a line with it and ~15 µs without, it was a fifth of the gateway's CPU per request.
  const accessLog = logger.child({}, { redact: { paths: [] } });
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
      logAccess(accessLog, ctx);
      onRequestEnd?.(ctx);
    });
    void runPipeline(plugins, ctx, logError);
  };

  return {
    handler,
    plugins,
    async close() {
      await Promise.allSettled(plugins.map((plugin) => plugin.close?.()));
    },
  };
}

/** One line per request: who, what, how it ended. Never a token, cookie or body. */
function logAccess(logger: Logger, ctx: RequestContext): void {
  const { identity, res } = ctx;
  logger.info(
    {
      requestId: ctx.id,
      method: ctx.req.method,
      path: ctx.path === "" ? undefined : loggablePath(ctx.path),
      status: res.headersSent ? res.statusCode : undefined,
      completed: res.writableFinished,
      durationMs: Math.round((performance.now() - ctx.startedAt) * 10) / 10,
      client: { ip: identity.ip, certSubject: identity.certSubject, tokenId: identity.tokenId?.slice(0, 16) },
      ...ctx.logFields,
    },
    "request",
  );
}
