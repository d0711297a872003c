import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../errors/gateway-error.js";
import { errorBody } from "../errors/normalize.js";
import type { ReadinessReport } from "../observability/health.js";
import type { Logger } from "../observability/log.js";

export interface AdminOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** The Prometheus exposition text and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<ReadinessReport>;
}

export interface AdminListener {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.|::1$|localhost$|::ffff:127\.)/;

/**
 * The admin listener: plain HTTP, apart from the client-facing port, loopback unless configured otherwise.
 *   GET /metrics  Prometheus text format
 *   GET /healthz  200 while the process runs and its event loop turns (liveness)
 *   GET /readyz   200 when the backend, Redis (when configured) and the certificate are fine; else 503 naming them
 * @example
 * const admin = await startAdmin({ host: "127.0.0.1", port: 9464, logger, metrics, readiness: () => r.report() });
 */
export async function startAdmin(options: AdminOptions): Promise<AdminListener> {
  const { logger } = options;
  const server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, (req, res) => {
    answer(req, res, options).catch((error: unknown) => {
      logger.error({ err: error, path: req.url }, "admin request failed");
      if (!res.headersSent) send(res, 500, "application/json", errorBody(["internal error"]));
      else res.destroy();
    });
  });
  server.listen(options.port, options.host);
  try {
    await once(server, "listening");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EADDRINUSE" && code !== "EADDRNOTAVAIL" && code !== "EACCES") throw error;
    throw new ConfigError(`admin: cannot listen on ${options.host}:${options.port} (${code})`, { cause: error });
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  if (!LOOPBACK.test(options.host)) {
    logger.warn({ url }, "the admin listener is reachable beyond loopback: /metrics and /readyz need no credentials");
  }
  return {
    server,
    port,
    url,
    close: async () => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, options: AdminOptions): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "application/json", errorBody(["method not allowed"]));
  }
  switch (path) {
    case "/metrics": {
      const { contentType, body } = await options.metrics();
      return send(res, 200, contentType, body);
    }
    case "/healthz":
      return send(res, 200, "application/json", JSON.stringify({ status: "ok", pid: process.pid }));
    case "/readyz": {
      const report = await options.readiness();
      return send(res, report.ready ? 200 : 503, "application/json", JSON.stringify(report));
    }
    default:
      return send(res, 404, "application/json", errorBody(["not found"]));
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
