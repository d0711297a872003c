import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { type Dispatcher, util } from "undici";
import type { GatewayError } from "../../../errors/gateway-error.js";
import type { UpstreamReply } from "../engine.js";
import { ClientGoneError, upstreamError } from "../upstream-errors.js";

const WAITING = 0; // dispatched, no response head yet: failures reject send()
const STREAMING = 1; // head resolved, body flowing: failures destroy the body
const DONE = 2; // completed, failed or abandoned: later events are ignored

const FORWARD = Symbol("portcullis.forward");
type TaggedResponse = ServerResponse & { [FORWARD]?: Forward };

/**
 * One forwarded request: undici's dispatch handler and, once the head arrived, the response body handed to the
 * proxy stage. One object per request instead of a handler, a body stream and their closures.
 */
export class Forward extends Readable implements Dispatcher.DispatchHandler {
  private state = WAITING;
  private resolve: (reply: UpstreamReply) => void = ignore;
  private reject: (error: GatewayError) => void = ignore;
  private abortUpstream: ((error?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private headTimer: NodeJS.Timeout | undefined;

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
    clearTimeout(this.headTimer);
    this.resumeUpstream = resume;
    this.resolve({ status: statusCode, headers: incomingHeaders(rawHeaders), body: this });
    return true;
  }

  onData(chunk: Buffer): boolean {
    // false pauses undici's parser (and so the backend's socket) until the client has read: backpressure
    return this.push(chunk);
  }

  onComplete(): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    this.push(null);
  }

  onError(error: Error): void {
    if (this.state === WAITING) {
      this.giveUp(upstreamError(error));
    } else if (this.state === STREAMING) {
      this.state = DONE;
      // an error event nobody listens to would crash the process; a bare destroy still reads as a premature close
      this.destroy(this.listenerCount("error") > 0 ? error : undefined);
    }
  }

  override _read(): void {
    this.resumeUpstream?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // the body was dropped before its end (client gone, error body too large): free the upstream connection
    if (this.state !== DONE) {
      this.state = DONE;
      this.abortUpstream?.(error ?? new ClientGoneError());
    }
    callback(error);
  }

  clientGone(): void {
    if (this.state === WAITING) this.giveUp(new ClientGoneError());
    else if (this.state === STREAMING) this.destroy();
  }

  headTimedOut(): void {
    if (this.state === WAITING) this.giveUp(upstreamError(new Error("no response head in time"), true));
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
