import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { type Dispatcher, util } from "undici";
import type { GatewayError } from "../../../errors/gateway-error.js";
import type { DirectBody, UpstreamReply } from "../engine.js";
import { endAtTurnEnd } from "../turn-end.js";
import { ClientGoneError, upstreamError } from "../upstream-errors.js";

const WAITING = 0; // dispatched, no response head yet: failures reject send()
const STREAMING = 1; // head resolved, body flowing: failures destroy the body
const DONE = 2; // completed, failed or abandoned: later events are ignored

const FORWARD = Symbol("portcullis.forward");
// Chunks held before the proxy stage chooses a reader, at most: then undici's parser pauses until it has
const HOLD_CHUNKS = 16;
type TaggedResponse = ServerResponse & { [FORWARD]?: Forward };

/**
 * One forwarded request: undici's dispatch handler and, once the head arrived, the response body handed to the
 * proxy stage. One object per request instead of a handler, a body stream and their closures.
 *
 * The body is held until the proxy stage decides how to read it: a small body usually arrives with its head, in the
 * same parser call. `sendTo(res)` then writes it to the client directly (no pipe, no stream events: the common case
 * of a small success answer); any other reader gets it through the Readable side, which is fed from the held chunks
 * on its first read.
 */
export class Forward extends Readable implements Dispatcher.DispatchHandler, DirectBody {
  private state = WAITING;
  private resolve: (reply: UpstreamReply) => void = ignore;
  private reject: (error: GatewayError) => void = ignore;
  private abortUpstream: ((error?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private headTimer: NodeJS.Timeout | undefined;
  /** Chunks that arrived before the proxy stage chose a reader; null once one was chosen. */
  private held: Buffer[] | null = [];
  /** The body ended (or failed) while held. */
  private heldEnd: "complete" | Error | undefined;
  /** The client's response, when the body is sent there directly. */
  private sink: ServerResponse | null = null;
  private sent: (() => void) | null = null;
  private sendFailed: ((error: Error) => void) | null = null;
  /** A 304: it never has a body, whatever Content-Length says. */
  private notModified = false;

  /** A promise settled by this forward; the executor is hoisted, so no closure is made per request. */
  settlement(): Promise<UpstreamReply> {
    capturing = this;
    const promise = new Promise<UpstreamReply>(capture);
    capturing = undefined;
    return promise;
  }

  /**
   * Ties the forward to the client's response, so a client that goes away aborts the upstream request, and gives
   * the backend `timeoutMs` for its response head. The timer is ours: undici's headersTimeout runs on a clock that
   * ticks every ~0.5 s, so it fires up to half a second early or late (a whole second late under one second).
   */
  watch(res: ServerResponse, timeoutMs: number): void {
    (res as TaggedResponse)[FORWARD] = this;
    res.on("close", onClientClose);
    this.headTimer = setTimeout(onHeadTimeout, timeoutMs, this);
  }

  /**
   * Writes the body to `res` (whose head the caller wrote) as it arrives, with backpressure, and ends it: resolves
   * once `res` finished. A body that breaks off destroys `res` (a truncated answer must not look complete) and
   * rejects; so does a client that goes away. Only for a body nobody has read yet.
   */
  sendTo(res: ServerResponse): Promise<void> {
    const held = this.held;
    if (this.destroyed || res.destroyed) {
      // the client went away before the proxy stage got to the body (its 'close' may have come and gone)
      res.destroy();
      return Promise.reject(new ClientGoneError());
    }
    if (held === null) return Promise.reject(new Error("sendTo: the backend's body is already being read"));
    this.held = null;
    sending = this;
    const promise = new Promise<void>(captureSend);
    sending = undefined;
    // set before anything is written: a client that goes away from here on fails the send (clientGone)
    this.sink = res;
    res.once("finish", onSinkFinish);
    if (this.heldEnd instanceof Error) {
      this.failSink(res, this.heldEnd);
      return promise;
    }
    if (this.heldEnd === "complete") {
      if (held.length <= 1) endAtTurnEnd(res, held[0]);
      else {
        for (const chunk of held) res.write(chunk);
        res.end();
      }
      return promise;
    }
    for (const chunk of held) res.write(chunk);
    if (res.writableNeedDrain) res.once("drain", onSinkDrain);
    else if (held.length >= HOLD_CHUNKS) this.sinkDrained(); // a full hold paused the parser
    return promise;
  }

  onConnect(abort: (error?: Error) => void): void {
    // given up (client gone, timed out) while the request waited for a pooled connection: never send it
    if (this.state === DONE) abort(new ClientGoneError());
    else this.abortUpstream = abort;
  }

  onBodySent(): void {
    // the timeout is for silence: a client still uploading keeps the wait for the head alive, as it keeps the
    // socket of http-proxy's engine alive
    this.headTimer?.refresh();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.state !== WAITING || statusCode < 200) return true; // 1xx (103 Early Hints): the final head follows
    this.state = STREAMING;
    this.notModified = statusCode === 304;
    clearTimeout(this.headTimer);
    this.resumeUpstream = resume;
    this.resolve({ status: statusCode, headers: incomingHeaders(rawHeaders), body: this });
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { sink } = this;
    if (sink !== null) {
      if (sink.write(chunk)) return true;
      sink.once("drain", onSinkDrain);
      return false; // pauses undici's parser (and so the backend's socket) until the client has read: backpressure
    }
    if (this.held === null) return this.push(chunk);
    this.held.push(chunk);
    // one socket read's worth at most, until the proxy stage (a microtask away) chooses how to read it
    return this.held.length < HOLD_CHUNKS;
  }

  onComplete(): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    if (this.sink !== null) this.sink.end();
    else if (this.held !== null) this.heldEnd = "complete";
    else this.push(null);
  }

  onError(error: Error): void {
    // A 304 may carry the Content-Length of the representation it stands for (RFC 9110, 8.6), and undici 7 takes
    // the missing body for a truncated one: the answer is complete (undici still drops the connection)
    if (this.notModified && (error as { code?: string }).code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") {
      this.onComplete();
      return;
    }
    if (this.state === WAITING) {
      this.giveUp(upstreamError(error));
    } else if (this.state === STREAMING) {
      this.state = DONE;
      if (this.sink !== null) this.failSink(this.sink, error);
      else if (this.held !== null) this.heldEnd = error;
      // an error event nobody listens to would crash the process; a bare destroy still reads as a premature close
      else this.destroy(this.listenerCount("error") > 0 ? error : undefined);
    }
  }

  override _read(): void {
    const held = this.held;
    if (held === null) {
      this.resumeUpstream?.();
      return;
    }
    // the first read: the Readable side takes over the held body
    this.held = null;
    for (const chunk of held) this.push(chunk);
    const end = this.heldEnd;
    if (end === "complete") this.push(null);
    // as in onError: an error event nobody listens to would crash the process
    else if (end instanceof Error) this.destroy(this.listenerCount("error") > 0 ? end : undefined);
    else this.resumeUpstream?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // the body was dropped before its end (client gone, error body too large): free the upstream connection
    this.held = null;
    if (this.state !== DONE) {
      this.state = DONE;
      this.abortUpstream?.(error ?? new ClientGoneError());
    }
    callback(error);
  }

  clientGone(): void {
    if (this.state === WAITING) this.giveUp(new ClientGoneError());
    else if (this.sink !== null) {
      // the upstream request is dropped (if it still runs) and the relay fails: the answer did not arrive whole
      if (this.state === STREAMING) {
        this.state = DONE;
        this.abortUpstream?.(new ClientGoneError());
      }
      if (!this.sink.writableFinished) this.failSink(this.sink, new ClientGoneError());
    } else if (this.state === STREAMING) {
      // a reader (an error body being read, a stream) learns why it ends: nobody's failure but the client's
      this.destroy(this.listenerCount("error") > 0 ? new ClientGoneError() : undefined);
    }
  }

  headTimedOut(): void {
    if (this.state === WAITING) this.giveUp(upstreamError(new Error("no response head in time"), true));
  }

  /** The direct send is over: resolves sendTo(). */
  sinkFinished(): void {
    this.sendFailed = null;
    const sent = this.sent;
    this.sent = null;
    sent?.();
  }

  sinkDrained(): void {
    // A drain can fire while undici's parser runs for another response (writing there moves Node's queue of
    // pipelined responses), and undici's parsers must never be re-entered: resumed on the next tick, as a
    // Readable's resume() is
    if (this.sink !== null && this.state === STREAMING) process.nextTick(resumeSending, this);
  }

  resumeSending(): void {
    if (this.sink !== null && this.state === STREAMING) this.resumeUpstream?.();
  }

  /** Ends a direct send that cannot complete: the client's connection is cut, sendTo() rejects. */
  private failSink(res: ServerResponse, error: Error): void {
    this.sink = null;
    this.sent = null;
    const failed = this.sendFailed;
    this.sendFailed = null;
    res.destroy();
    failed?.(error);
  }

  /** Fails send() before the response head; a request not on a connection yet is aborted by onConnect. */
  private giveUp(error: GatewayError): void {
    this.state = DONE;
    clearTimeout(this.headTimer);
    this.reject(error);
    this.abortUpstream?.(error);
  }
}

function ignore(): void {}

// Promise executors run synchronously, so the forward being built is handed over in a module variable
let capturing: Forward | undefined;
function capture(resolve: (reply: UpstreamReply) => void, reject: (error: GatewayError) => void): void {
  const forward = capturing as unknown as { resolve: typeof resolve; reject: typeof reject };
  forward.resolve = resolve;
  forward.reject = reject;
}

let sending: Forward | undefined;
function captureSend(resolve: () => void, reject: (error: Error) => void): void {
  const forward = sending as unknown as { sent: typeof resolve; sendFailed: typeof reject };
  forward.sent = resolve;
  forward.sendFailed = reject;
}

function onSinkFinish(this: TaggedResponse): void {
  this[FORWARD]?.sinkFinished();
}

function resumeSending(forward: Forward): void {
  forward.resumeSending();
}

function onSinkDrain(this: TaggedResponse): void {
  this[FORWARD]?.sinkDrained();
}

function onClientClose(this: TaggedResponse): void {
  this[FORWARD]?.clientGone();
}

function onHeadTimeout(forward: Forward): void {
  forward.headTimedOut();
}

// As node:http reads responses (and so the http-proxy engine): the first of these wins when a backend repeats one
const SINGLE = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** undici's raw [name, value, ...] buffers as node:http's headers: lower-case names, repeats joined. */
export function incomingHeaders(raw: readonly Buffer[]): IncomingHttpHeaders {
  // no prototype: a header named "constructor" or "__proto__" must read as absent, not as Object's own
  const out = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = util.headerNameToString(raw[i] as Buffer);
    const value = (raw[i + 1] as Buffer).toString("latin1");
    const seen = out[name];
    if (seen === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (Array.isArray(seen)) seen.push(value);
    else if (!SINGLE.has(name)) out[name] = `${seen}, ${value}`;
  }
  return out as IncomingHttpHeaders;
}
