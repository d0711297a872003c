import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

// The one file that reads Node's HTTP server internals (lib/_http_server.js of Node 20): the response in flight on
// a connection, the listeners a connection's parser is driven by, and the offsets of a parse error. Everything here
// fails closed: when Node does not look as expected, callers refuse the request instead of guessing.

/** What Node's HTTP server hangs on a connection's socket. */
interface HttpSocketFields {
  _httpMessage?: ServerResponse | null;
  parser?: { incoming?: IncomingMessage | null; remove?: () => void } | null;
  _paused?: boolean;
  readableFlowing: boolean | null;
}

/** The response Node is writing on this connection, if any (pipelined ones queue behind it). */
export function responseInFlight(socket: Duplex): ServerResponse | undefined {
  return (socket as unknown as HttpSocketFields)._httpMessage ?? undefined;
}

/** The request the connection's parser is reading, while it is still incomplete (its body is arriving). */
export function requestBeingRead(socket: Duplex): IncomingMessage | undefined {
  const incoming = (socket as unknown as HttpSocketFields).parser?.incoming ?? undefined;
  return incoming !== undefined && !incoming.complete ? incoming : undefined;
}

/**
 * Calls `then` once Node has written every response it owes on this connection, in order: each finished response
 * makes Node attach the next queued one (its own "finish" listener runs before ours), so we wait until none is
 * left. Never calls `then` if the connection closes first.
 */
export function whenIdle(socket: Duplex, then: () => void): void {
  const res = responseInFlight(socket);
  if (res === undefined) {
    then();
    return;
  }
  const next = () => {
    res.off("finish", next);
    res.off("close", next);
    setImmediate(() => {
      if (!socket.destroyed) whenIdle(socket, then);
    });
  };
  res.once("finish", next);
  res.once("close", next);
}

// connectionListenerInternal() drives a connection with these; the upgrade path removes the same ones and
// "drain" too, which must stay here: it is how the responses still owed on the connection learn that they may
// write again (removing it stalls a response that met backpressure)
const PARSER_LISTENERS: ReadonlyArray<readonly [string, string]> = [
  ["data", "bound socketOnData"],
  ["end", "bound socketOnEnd"],
  ["timeout", "socketOnTimeout"],
];

/**
 * Takes a connection away from its (failed) HTTP parser, much as Node does for an Upgrade: no more bytes reach the
 * parser, and its end and timeout handling stop. Its "close" listener stays, so Node still frees the parser when
 * the socket closes. The caller's own "data" listener then receives the bytes: on a consumed socket, adding one
 * makes Node hand the stream back to JavaScript. Returns false, touching nothing, if a listener is missing.
 */
export function detachFailedParser(socket: Duplex): boolean {
  const found = PARSER_LISTENERS.map(([event, name]) => {
    const listener = socket.listeners(event).find((fn) => fn.name === name);
    return [event, listener as ((...args: unknown[]) => void) | undefined] as const;
  });
  if (found.some(([, listener]) => listener === undefined)) return false;
  for (const [event, listener] of found) if (listener) socket.removeListener(event, listener);
  const fields = socket as unknown as HttpSocketFields;
  fields._paused = false;
  fields.readableFlowing = null;
  return true;
}

/**
 * Takes a connection whose parser failed out of the server's connection list, whose idle and expiry sweeps would
 * otherwise close or time out the socket for a parser that no longer reads it (freeParser does the same on close).
 */
export function forgetFailedParser(socket: Duplex): void {
  (socket as unknown as HttpSocketFields).parser?.remove?.();
}

export interface ParseFailure {
  /** The chunk the parser was executing when it failed. */
  readonly packet: Buffer;
  /** Where in `packet` the parser stopped. */
  readonly failedAt: number;
}

/** The chunk and offset Node attaches to a parser error (`rawPacket`, `bytesParsed`), when both make sense. */
export function parseFailure(error: unknown): ParseFailure | undefined {
  const { rawPacket, bytesParsed } = error as { rawPacket?: unknown; bytesParsed?: unknown };
  if (!Buffer.isBuffer(rawPacket) || typeof bytesParsed !== "number") return undefined;
  if (!Number.isInteger(bytesParsed) || bytesParsed < 0 || bytesParsed > rawPacket.length) return undefined;
  return { packet: rawPacket, failedAt: bytesParsed };
}

/**
 * Stops the interval Node's HTTP server sweeps its connections' timeouts with. http.Server's close() does this (and
 * closes idle connections at once, which a graceful drain must not do yet); a drain that closes the listening
 * socket with net.Server's close() calls this once the last connection is gone.
 */
export function stopTimeoutSweep(server: object): void {
  for (const symbol of Object.getOwnPropertySymbols(server)) {
    if (symbol.description === "http.server.connectionsCheckingInterval") {
      clearInterval((server as Record<symbol, NodeJS.Timeout | undefined>)[symbol]);
    }
  }
}
