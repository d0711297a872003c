import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Config } from "../config/schema.js";
import { GatewayError } from "../errors/gateway-error.js";
import { writeError } from "../errors/normalize.js";
import type { Logger } from "../observability/log.js";
import { ALLOWED_METHODS } from "../plugins/route/framing.js";
import { closeWith, createClientErrorHandler } from "./client-error.js";
import { ConnectionTracker } from "./drain.js";
import { rawErrorResponse } from "./error-response.js";
import { TIMEOUT_SWEEP_MS } from "./limits.js";

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
  /**
   * Takes what waits in the accept queue, stops accepting, lets in-flight requests finish up to `drainMs`, then
   * closes what is left (ConnectionTracker.drain).
   */
  close(drainMs?: number): Promise<void>;
}

/** Starts the client-facing listener: HTTPS unless TLS is explicitly turned off. */
export async function startListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: ListenerOptions,
): Promise<Listener> {
  const { limits, logger } = options;
  const tracker = new ConnectionTracker();
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_SWEEP_MS,
    // Node answers a Host-less HTTP/1.1 request with an empty 400; the route stage answers it in the errors shape
    requireHostHeader: false,
  };
  const limited = perSocketLimit(handler, limits.maxRequestsPerSocket);
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    tracker.trackResponse(res);
    limited(req, res);
  };
  const server: Server = options.tls
    ? createHttpsServer({ ...options.tls, ...serverOptions, handshakeTimeout: limits.handshakeTimeoutMs }, listener)
    : createHttpServer(serverOptions, listener);
  if (!options.tls) logger.warn("TLS is OFF: this listener serves plain HTTP; tokens cross the network in clear text");
  server.maxConnections = limits.maxConnections;
  // Node keeps at most this many lines in req.headers, which the proxy forwards (its own default is 1000), and
  // stops collecting rawHeaders, block by block, once it holds that many: one line more than the limit, so that a
  // request over the limit always shows more than the limit to the route stage (with the count at 31, a request of
  // 40 lines arrived with 31 and would have passed with 9 dropped)
  server.maxHeadersCount = limits.maxHeadersCount + 1;
  server.on("connection", (socket: Socket) => tracker.trackSocket(socket));
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => tracker.trackHttpConnection(socket));
  server.on(
    "clientError",
    createClientErrorHandler(server, {
      maxHeaderBytes: limits.maxHeaderBytes,
      headersTimeoutMs: limits.headersTimeoutMs,
    }),
  );
  answerWhatNodeWouldAnswerEmpty(server);

  server.listen(options.port, options.host);
  await once(server, "listening");
  // after the start, a server error is an accept failure (EMFILE, ENFILE): log it, never let it end the process
  server.on("error", (error) => logger.error({ err: error }, "listener error"));
  let lastDropLog = 0; // a flood of refused connections must not become a flood of log lines
  server.on("drop", () => {
    if (Date.now() - lastDropLog < 1_000) return;
    lastDropLog = Date.now();
    logger.warn({ maxConnections: server.maxConnections }, "connections refused: at maxConnections");
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `${options.tls ? "https" : "http"}://${host}:${port}`;
  return { server, port, url, close: (drainMs = 10_000) => tracker.drain(server, drainMs) };
}

/**
 * At most `max` requests per connection, the last answered with `Connection: close`. Node's own
 * maxRequestsPerSocket answers a pipelined request past the limit with an empty 503; ours is in the errors shape.
 */
function perSocketLimit(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  max: number,
): (req: IncomingMessage, res: ServerResponse) => void {
  const served = new WeakMap<object, number>();
  return (req, res) => {
    const count = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, count);
    if (count >= max) res.shouldKeepAlive = false;
    if (count > max) {
      writeError(res, new GatewayError(503, "PORTCULLIS_CONNECTION_EXHAUSTED", "too many requests on this connection"));
      return;
    }
    handler(req, res);
  };
}

/** Node's other built-in answers have empty bodies: give them the errors shape. */
function answerWhatNodeWouldAnswerEmpty(server: Server): void {
  // Expect other than 100-continue: Node would write an empty 417
  server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => {
    writeError(res, new GatewayError(417, "PORTCULLIS_EXPECTATION_FAILED", "expectation failed"));
  });
  // CONNECT: without a listener Node closes the socket without a word. Node has already detached the socket from
  // HTTP, so it needs its own error listener: a reset must not become an uncaught exception.
  server.on("connect", (_req: IncomingMessage, socket: Socket) => {
    socket.on("error", () => socket.destroy());
    closeWith(socket, rawErrorResponse(405, "method not allowed", { allow: ALLOWED_METHODS.join(", ") }));
  });
}
