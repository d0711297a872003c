import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Config } from "./config/schema.js";
import type { Logger } from "./observability/log.js";
import type { Plugin } from "./pipeline/plugin.js";
import { DEFAULT_TOKEN_SOURCES } from "./plugins/auth/token.js";
import { httpProxyEngine, proxy } from "./plugins/proxy/index.js";
import { route } from "./plugins/route/index.js";

export interface DefaultPluginDeps {
  logger: Logger;
}

/** The stages in request order: route, then the forwarding proxy. */
export function buildDefaultPlugins(config: Config, deps: DefaultPluginDeps): Plugin[] {
  const upstream = new URL(config.upstream.url);
  const tokenSources = DEFAULT_TOKEN_SOURCES;
  const agent = upstreamAgent(config, upstream);
  if (upstream.protocol === "https:" && config.upstream.tls.insecureSkipVerify) {
    deps.logger.warn({ upstream: upstream.origin }, "upstream TLS verification is OFF (insecureSkipVerify)");
  }
  return [
    route({ tokenHeaders: tokenSources.headers }),
    proxy({
      engine: httpProxyEngine({
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
  ];
}

function upstreamAgent(config: Config, upstream: URL): HttpAgent | HttpsAgent {
  const common = {
    keepAlive: true,
    maxSockets: config.upstream.maxSockets,
    maxFreeSockets: 64,
    scheduling: "lifo" as const,
  };
  return upstream.protocol === "https:" ? new HttpsAgent(common) : new HttpAgent(common);
}
