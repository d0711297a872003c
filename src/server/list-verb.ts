import type { Server } from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Server as TlsServer } from "node:tls";
import { parseListRequest } from "./list-request.js";
import { detachFailedParser, forgetFailedParser, type ParseFailure, parseFailure, whenIdle } from "./node-internals.js";
import { ReplaySocket } from "./replay-socket.js";

export interface ListVerbOptions {
  readonly maxHeaderBytes: number;
  /** How long the rest of a LIST request's header block may take to arrive. */
  readonly headersTimeoutMs: number;
  /** Answers a refused LIST on the transport (errors shape, then close). */
  readonly refuse: (transport: Socket, status: number, message: string) => void;
}

const LIST = Buffer.from("LIST ");
// pipelined bytes held while earlier responses are still being written; beyond this the client waits (TCP pause)
const MAX_HELD_BYTES = 64 * 1024;

/**
 * Where a refused request line is a LIST: Node's parser knows no method that starts "LIS", so it fails exactly on
 * the "S", two bytes after the method's first byte, and no other start fits that offset. (The one exception, a
 * client that splits "UNLIST" as "UN" | "LIST" over two reads, is served as the LIST that it ends with: those two
 * bytes belonged to no request either reading answers.)
 */
export function listRequestStart(failure: ParseFailure): number | undefined {
  const start = failure.failedAt - 2;
  if (start < 0) return undefined;
  const before = failure.packet[start - 1];
  // a capital letter before it may begin a longer method name: "UNLIST" fails on this same byte. Refused, not
  // guessed (the rare body that ends in a capital letter right before a pipelined LIST gets a 501)
  if (before !== undefined && before >= 0x41 && before <= 0x5a) return undefined;
  return failure.packet.subarray(start, start + LIST.length).equals(LIST) ? start : undefined;
}

/**
 * Serves `LIST`, which Node's HTTP parser refuses before any of our code runs (HPE_INVALID_METHOD). Called from
 * the server's clientError handler with the socket whose parser failed. If the refused request is a LIST, the
 * connection is taken from that parser (as Node itself does for an Upgrade), the LIST request is read by
 * list-request.ts, and once every earlier response on the connection has gone out, the connection is handed back
 * to Node's HTTP server as a new one that starts with the rewritten `GET ...?list=true` and continues with whatever
 * the client sends next. Keep-alive and pipelining go on as before; each LIST starts a new parser, which is also
 * where Node's per-connection request count starts again.
 *
 * Returns false, touching nothing, when the request is not a LIST or the connection cannot be taken safely.
 */
export function takeOverList(server: Server, socket: Duplex, error: unknown, options: ListVerbOptions): boolean {
  const failure = parseFailure(error);
  const start = failure === undefined ? undefined : listRequestStart(failure);
  const connectionListener = httpConnectionListener(server);
  if (failure === undefined || start === undefined || connectionListener === undefined) return false;
  const transport = socket instanceof ReplaySocket ? socket.transport : socket;
  if (!(transport instanceof Socket) || transport.destroyed) return false;
  if (!detachFailedParser(socket)) return false;
  forgetFailedParser(socket);
  // a keep-alive timer Node armed after the previous response must not cut this request short
  transport.setTimeout(0);

  let held = Buffer.from(failure.packet.subarray(start));
  if (socket instanceof ReplaySocket) {
    // bytes it received after the failing chunk but Node had not read yet (it pauses a connection whose responses
    // back up) come next: dropping them would splice later bytes onto the LIST and misframe what follows
    socket.stopReading();
    socket.pause();
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      held = Buffer.concat([held, chunk]);
    }
  }
  let parsed = false;
  const deadline = setTimeout(
    () => finish(() => options.refuse(transport, 408, "request timeout")),
    options.headersTimeoutMs,
  );
  const onData = (chunk: Buffer) => {
    held = Buffer.concat([held, chunk]);
    if (held.length > MAX_HELD_BYTES) transport.pause();
    if (!parsed) read();
  };
  const onGone = () => {
    clearTimeout(deadline);
    transport.off("data", onData);
    transport.destroy();
  };
  const finish = (then: () => void) => {
    parsed = true;
    clearTimeout(deadline);
    // answers go out in request order: after every response Node still owes on the old parser
    whenIdle(socket, () => {
      transport.off("data", onData);
      transport.off("end", onGone);
      transport.off("close", onGone);
      if (socket instanceof ReplaySocket) {
        socket.release();
        socket.destroy(); // frees its parser; the transport stays open
      }
      transport.setTimeout(0); // the keep-alive timer of the last response belongs to the old parser
      then();
    });
  };
  const read = () => {
    const result = parseListRequest(held, options.maxHeaderBytes);
    if (result.kind === "incomplete") return;
    if (result.kind === "refused") return finish(() => options.refuse(transport, result.status, result.message));
    finish(() => {
      const replay = new ReplaySocket(transport, Buffer.concat([result.rewritten, held.subarray(result.length)]));
      connectionListener.call(server, replay);
    });
  };
  transport.on("data", onData); // on a socket Node's parser consumed, this hands the stream back to JavaScript
  transport.resume(); // a predecessor may have paused it for backpressure
  transport.once("end", onGone);
  transport.once("close", onGone);
  read();
  return true;
}

/** Node's own listener that starts HTTP on a connection ("secureConnection" on https, "connection" on http). */
function httpConnectionListener(server: Server): ((socket: Duplex) => void) | undefined {
  const event = server instanceof TlsServer ? "secureConnection" : "connection";
  const listener = server.listeners(event).find((fn) => fn.name === "connectionListener");
  return listener as ((socket: Duplex) => void) | undefined;
}
