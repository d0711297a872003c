import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import type { Config } from "../config/schema.js";
import type { Logger } from "../observability/log.js";
import { answerClientError } from "./client-error.js";

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  /** TLS options for node:https; `false` serves plain HTTP (and warns). */
  readonly tls: HttpsServerOptions | false;
  readonly limits: Config["limits"];
  readonly logger: Logger;
}

export interface Listener {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish up to `drainMs`, then closes what is left. */
  close(drainMs?: number): Promise<void>;
}

/** Starts the client-facing listener: HTTPS unless TLS is explicitly turned off. */
export async function startListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: ListenerOptions,
): Promise<Listener> {
  const { limits } = options;
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default): a slow client would outlive them
    connectionsCheckingInterval: 1_000,
  };
  const server: Server = options.tls
    ? createHttpsServer({ ...options.tls, ...serverOptions }, handler)
    : createHttpServer(serverOptions, handler);
  if (!options.tls) {
    options.logger.warn("TLS is OFF: this listener serves plain HTTP; tokens cross the network in clear text");
  }
  server.on("clientError", answerClientError);
  server.listen(options.port, options.host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `${options.tls ? "https" : "http"}://${host}:${port}`;
  return { server, port, url, close: (drainMs = 10_000) => drain(server, drainMs) };
}

async function drain(server: Server, drainMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
  deadline.unref();
  await closed;
  clearTimeout(deadline);
}
