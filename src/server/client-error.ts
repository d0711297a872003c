import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { GatewayError } from "../errors/gateway-error.js";
import { statusMessage } from "../errors/http-status.js";
import { writeError } from "../errors/normalize.js";
import { rawErrorResponse } from "./error-response.js";
import { takeOverList } from "./list-verb.js";
import {
  detachFailedParser,
  forgetFailedParser,
  requestBeingRead,
  responseInFlight,
  whenIdle,
} from "./node-internals.js";

/**
 * A lingering close, as Apache's and nginx's: once our last bytes are with the kernel, the connection stays open (its
 * input read and dropped) until the client has been silent for `idleMs`, at most `maxMs`. Closing while its bytes
 * still arrive would answer them with a reset, and a reset makes the client's kernel drop the responses it has not
 * read yet (nginx: 5 s and 30 s).
 */
export interface Linger {
  readonly idleMs: number;
  readonly maxMs: number;
}

const LINGER: Linger = { idleMs: 2_000, maxMs: 10_000 };
/**
 * For a client too slow to send its request head (408): it is owed nothing but that answer, and a slowloris client
 * trickling bytes must not earn itself ten more seconds.
 */
const BRIEF_LINGER: Linger = { idleMs: 500, maxMs: 500 };

function lingerFor(status: number): Linger {
  return status === 408 ? BRIEF_LINGER : LINGER;
}

/** How long the last responses may take to reach a client that reads slowly (or not at all) before we cut it. */
const SEND_MS = 10_000;

/** Node's parser errors and what HTTP says they are. */
function statusFor(code: string | undefined): number {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return 413;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    case "HPE_INVALID_METHOD":
      return 501;
    case "HPE_PAUSED_H2_UPGRADE":
      return 505; // the HTTP/2 preface ("PRI * HTTP/2.0"): this listener speaks HTTP/1.1 only
    default:
      return 400;
  }
}

/**
 * Ends a connection with one last response: the write side closes after it (FIN, not RST, so the client reads it),
 * then the socket lingers and is destroyed once the client has closed its side or gone quiet (Linger). In all, at
 * most SEND_MS + linger.maxMs.
 */
export function closeWith(socket: Duplex, response: string, linger: Linger = LINGER): void {
  socket.end(response);
  const cut = () => socket.destroy();
  // the linger counts from the moment everything owed has been handed to the kernel: responses still queued for a
  // client slow to read (after a pipelining gap, say) must not be cut off; one that reads nothing goes after SEND_MS
  let timer = setTimeout(cut, SEND_MS);
  timer.unref();
  socket.once("finish", () => {
    clearTimeout(timer);
    if (socket.readableEnded) return cut(); // the client has closed its side already: nothing can come to reset
    // no parser reads what comes now (a failed one would report each chunk again, and Node's own reader asserts
    // that the socket is not one it paused); false where there is none left to detach, which is as good
    if (detachFailedParser(socket)) forgetFailedParser(socket);
    const lingerEnd = performance.now() + linger.maxMs;
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(cut, Math.max(0, Math.min(linger.idleMs, lingerEnd - performance.now())));
      timer.unref();
    };
    rearm();
    socket.on("data", rearm);
    socket.once("end", cut);
    socket.resume(); // a socket paused for backpressure would leave the client's bytes unread, and reset at close
  });
  socket.once("close", () => clearTimeout(timer));
}

export interface ClientErrorOptions {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
}

/**
 * The server's clientError handler. Node answers requests its parser refuses with an empty body of its own; we
 * answer in the API's error shape instead, after any responses still owed on the connection (in request order),
 * then close, since the bytes after a bad request cannot be trusted to start a new one. A refused `LIST` is served
 * instead (list-verb.ts). TLS handshake failures and resets have no HTTP to answer and are just closed.
 */
export function createClientErrorHandler(
  server: Server,
  options: ClientErrorOptions,
): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  // a connection once answered, closing or handed over: a failed parser reports every later chunk again
  const settled = new WeakSet<Duplex>();
  const refuse = (transport: Socket, status: number, message: string) =>
    closeWith(transport, rawErrorResponse(status, message), lingerFor(status));

  return (error, socket) => {
    if (settled.has(socket)) return;
    settled.add(socket);
    const isHttp = "parser" in socket; // set by Node's HTTP connection listener, absent before the TLS handshake ends
    if (!isHttp || error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === "HPE_PAUSED") return closeAfterGap(socket);
    if (error.code === "HPE_INVALID_METHOD" && takeOverList(server, socket, error, { ...options, refuse })) return;
    const status = statusFor(error.code);
    const res = responseInFlight(socket);
    if (res === undefined) return closeWith(socket, rawErrorResponse(status), lingerFor(status));
    if (requestBeingRead(socket) === undefined) {
      // earlier requests are still being answered: their responses go out first, then this one
      whenIdle(socket, () => closeWith(socket, rawErrorResponse(status), lingerFor(status)));
      return;
    }
    // the request whose body broke or stalled is the one in flight: answer it through its own response while
    // nothing of that was sent; the connection then closes, which also aborts the upstream request the body was
    // streaming into. A response already under way can only be cut.
    res.shouldKeepAlive = false;
    if (!res.headersSent)
      writeError(res, new GatewayError(status, "PORTCULLIS_UNREADABLE_REQUEST", statusMessage(status)));
    else if (!res.writableEnded) socket.destroy();
    else whenIdle(socket, () => closeWith(socket, ""));
  };
}

/**
 * HPE_PAUSED is not the client's error. Node pauses a connection's parser while its responses back up, but on TLS
 * connections decrypted bytes still reach the paused parser, which refuses them, and Node drops them: the request
 * stream now has a gap. Nothing after it may be parsed (body bytes could be read as a request), so the parser is
 * detached; the responses owed are written, then the connection closes without another answer, and the client
 * retries what was not answered (RFC 9112 §9.3.2). A request whose body had the gap is cut at once, which also
 * aborts its upstream request rather than forwarding a body with bytes missing.
 */
function closeAfterGap(socket: Duplex): void {
  if (requestBeingRead(socket) !== undefined || !detachFailedParser(socket)) {
    socket.destroy();
    return;
  }
  forgetFailedParser(socket);
  // read and dropped from now on, so the socket can still close cleanly: Node paused it for the backed-up
  // responses, and a socket closed with unread bytes sends a reset, on which the client's kernel drops the
  // responses the client has not read yet
  socket.on("data", () => {});
  socket.resume();
  whenIdle(socket, () => closeWith(socket, ""));
}
