import { subscribe } from "node:diagnostics_channel";
import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { createLogger } from "../src/observability/log.js";
import { runGateway } from "../src/server/run.js";
import { childMain } from "./lib/child-main.js";

// Rows (c) and (d): Portcullis itself, built as `portcullis serve` builds it, in its own process. The access log
// goes to stdout, which the harness points at a file, as in production behind a log collector.

export interface GatewayChildOptions {
  readonly backendUrl: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly engine: string;
  /** With it, one token rule over every path with a limit never reached (row c); without, no rules (row d). */
  readonly redisUrl?: string;
  readonly logLevel: string;
  /** Overrides of config.limits (the memory mode keeps idle connections open longer than the default 5 s). */
  readonly limits?: Record<string, number>;
  /** rateLimit.redis.commandTimeoutMs (default 250): under valgrind, a GC pause outlasts 250 ms. */
  readonly redisCommandTimeoutMs?: number;
}

childMain<GatewayChildOptions>(async (options) => {
  // undici reports every request it creates here: the harness checks that the configured engine really forwards
  let undiciRequests = 0;
  subscribe("undici:request:create", () => {
    undiciRequests++;
  });
  const input = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: options.certFile, keyFile: options.keyFile },
    upstream: { url: options.backendUrl, engine: options.engine },
    secret: "bench-secret-0123456789abcdef0123456789",
    log: { level: options.logLevel },
    limits: options.limits ?? {},
    rateLimit:
      options.redisUrl === undefined
        ? { rules: [] }
        : {
            redis: {
              url: options.redisUrl,
              ...(options.redisCommandTimeoutMs === undefined
                ? {}
                : { commandTimeoutMs: options.redisCommandTimeoutMs }),
            },
            rules: [{ name: "bench", paths: ["*"], key: "token", limit: 1_000_000_000, periodMs: 60_000 }],
          },
  };
  const config = parseConfig(input as ConfigInput);
  const logger = createLogger({ level: config.log.level, bufferBytes: config.log.bufferBytes });
  const running = await runGateway(config, { logger });
  return {
    port: running.listener.port,
    close: () => running.stop(1_000),
    stats: () =>
      new Promise((resolve) => {
        running.listener.server.getConnections((_error, connections) => resolve({ undiciRequests, connections }));
      }),
  };
});
