import { randomBytes } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { compact } from "./config/compact.js";
import type { Config } from "./config/schema.js";
import { ConfigError } from "./errors/gateway-error.js";
import type { Logger } from "./observability/log.js";
import type { Plugin } from "./pipeline/plugin.js";
import {
  auth,
  backendVerifier,
  DEFAULT_ALLOW_LIST,
  lookupGuard,
  staticVerifier,
  TOKEN_LOOKUPS_RULE,
} from "./plugins/auth/index.js";
import { clientCert } from "./plugins/client-cert.js";
import { help } from "./plugins/help/index.js";
import { limit } from "./plugins/limit.js";
import { httpProxyEngine, proxy, undiciEngine } from "./plugins/proxy/index.js";
import { route } from "./plugins/route/index.js";
import {
  compileRules,
  createRedisClient,
  FallbackLimiter,
  KeyBuilder,
  type Limiter,
  MemoryLimiter,
  RedisLimiter,
  whenReady,
} from "./ratelimit/index.js";
import { upstreamTls } from "./tls/upstream.js";

export interface DefaultPluginDeps {
  logger: Logger;
}

/** The stages in request order: route, client-cert (mTLS), auth, limit, help, proxy. */
export async function buildDefaultPlugins(config: Config, deps: DefaultPluginDeps): Promise<Plugin[]> {
  const { logger } = deps;
  const upstream = new URL(config.upstream.url);
  const agent = await upstreamAgent(config, upstream, logger);
  // one key for every hash of an identity; random per process unless configured (then shared by all gateways)
  const secret = config.secret ?? randomBytes(32).toString("base64url");
  const tokenSources = { headers: config.auth.tokenHeaders, cookie: config.auth.cookie };
  const allowList = config.auth.allowList ?? DEFAULT_ALLOW_LIST;
  const backendCalls = {
    upstream,
    tokenHeader: config.upstream.tokenHeader,
    agent,
    timeoutMs: config.auth.lookupTimeoutMs,
  };

  const plugins: Plugin[] = [
    route({ tokenHeaders: tokenSources.headers, maxHeadersCount: config.limits.maxHeadersCount }),
  ];
  if (config.tls.enabled && config.tls.clientCerts.mode !== "off")
    plugins.push(clientCert({ mode: config.tls.clientCerts.mode }));
  const rules = config.rateLimit.rules.map(compact);
  compileRules(rules); // a bad rule fails the start here, before a Redis connection is opened and left behind
  if (rules.some((rule) => rule.name === TOKEN_LOOKUPS_RULE)) {
    throw new ConfigError(`rateLimit.rules: "${TOKEN_LOOKUPS_RULE}" is the name of rateLimit.tokenLookups' count`);
  }
  const { tokenLookups } = config.rateLimit;
  const limiter = rules.length > 0 || tokenLookups !== false ? await createLimiter(config, logger) : undefined;
  try {
    const authStage = auth({
      verifier:
        config.auth.verifier.type === "static"
          ? staticVerifier({ file: config.auth.verifier.file })
          : backendVerifier(backendCalls),
      tokenSources,
      allowList,
      ...compact({ loginPaths: config.auth.loginPaths, allowedOrigins: config.auth.allowedOrigins }),
      cache: config.auth.cache,
      secret,
      secureCookie: config.tls.enabled && config.auth.secureCookie,
      // the guard closes the limiter when no limit stage shares it
      ...(limiter !== undefined && tokenLookups !== false
        ? { lookupGuard: lookupGuard(compact(tokenLookups), limiter, new KeyBuilder({ secret }), rules.length === 0) }
        : {}),
    });
    plugins.push(authStage);
    if (limiter !== undefined && rules.length > 0) {
      plugins.push(limit({ rules, limiter, legacyHeaders: config.rateLimit.legacyHeaders, keys: { secret } }));
    }
    plugins.push(
      help({
        ...backendCalls,
        entries: config.help.entries,
        cacheTtlMs: config.help.cacheTtlMs,
        allowList: authStage.allowList,
      }),
      closing(
        agent,
        proxy({
          // undici verifies the backend with the TLS settings upstreamAgent() gave the shared https agent
          engine:
            config.upstream.engine === "undici"
              ? undiciEngine({
                  upstream,
                  timeoutMs: config.upstream.timeoutMs,
                  connections: config.upstream.maxSockets,
                  tls: agent instanceof HttpsAgent ? agent.options : undefined,
                })
              : httpProxyEngine({
                  upstream,
                  agent,
                  timeoutMs: config.upstream.timeoutMs,
                  verifyTls: !config.upstream.tls.insecureSkipVerify,
                }),
          tokenHeader: config.upstream.tokenHeader,
          clientTokenHeaders: tokenSources.headers,
          tokenCookie: tokenSources.cookie,
          maxBodyBytes: config.limits.maxBodyBytes,
          maxErrorBodyBytes: config.limits.maxErrorBodyBytes,
          maxCapturedBodyBytes: config.limits.maxCapturedBodyBytes,
        }),
      ),
    );
    return plugins;
  } catch (error) {
    // a later stage that fails to build must not leave the Redis connection behind
    await limiter?.close();
    throw error;
  }
}

/** The proxy stage, which also ends the shared agent's kept-alive backend connections when the gateway closes. */
function closing(agent: HttpAgent | HttpsAgent, stage: Plugin): Plugin {
  return {
    ...stage,
    async close() {
      await stage.close?.();
      agent.destroy();
    },
  };
}

/** One keep-alive agent for everything that talks to the backend: forwarding, token lookups, help checks. */
async function upstreamAgent(config: Config, upstream: URL, logger: Logger): Promise<HttpAgent | HttpsAgent> {
  const common = {
    keepAlive: true,
    maxSockets: config.upstream.maxSockets,
    maxFreeSockets: 64,
    scheduling: "lifo" as const,
  };
  if (upstream.protocol !== "https:") return new HttpAgent(common);
  const { tls } = config.upstream;
  const { agentOptions, warning } = await upstreamTls(compact(tls));
  if (warning !== undefined) logger.warn({ upstream: upstream.origin }, warning);
  return new HttpsAgent({ ...common, ...agentOptions });
}

/** Redis when configured (with a per-rule local fallback while it is away), else a bounded in-memory limiter. */
async function createLimiter(config: Config, logger: Logger): Promise<Limiter> {
  const { redis, gatewayCount } = config.rateLimit;
  if (redis === undefined) {
    if (gatewayCount > 1)
      logger.warn("rate limits are per process: configure rateLimit.redis to share them across gateways");
    return new MemoryLimiter();
  }
  // the token-lookup count is per client address too
  const sharesIdentities =
    config.rateLimit.tokenLookups !== false || config.rateLimit.rules.some((rule) => rule.key !== "global");
  if (config.secret === undefined && sharesIdentities && gatewayCount > 1) {
    throw new ConfigError(
      "secret: required when gateways share rate limits in Redis (rules keyed by token, cert or ip, or " +
        "rateLimit.tokenLookups), so each hashes identities alike",
    );
  }
  const client = createRedisClient({
    ...compact(redis),
    commandTimeoutMs: false, // the limiter keeps the deadline, one sweep for all commands instead of a timer each
    onError: (error) => logger.debug({ err: error.message }, "redis connection error"),
  });
  if (!(await whenReady(client, redis.connectTimeoutMs))) {
    logger.warn("Redis is not reachable at start: rate limits run locally until it is");
  }
  return new FallbackLimiter({
    remote: new RedisLimiter(client, { timeoutMs: redis.commandTimeoutMs }),
    gatewayCount,
    timeoutMs: redis.commandTimeoutMs,
    logger,
  });
}
