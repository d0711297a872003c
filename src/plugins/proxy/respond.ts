import { IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { BadGatewayError, GatewayError } from "../../errors/gateway-error.js";
import { normalizeBackendError } from "../../errors/normalize.js";
import type { RequestContext } from "../../pipeline/context.js";
import { isDirectBody, type UpstreamReply } from "./engine.js";
import { downstreamHeaders } from "./headers.js";
import { isLargeBody, scavengeAsItFlows } from "./scavenge.js";
import { endAtTurnEnd } from "./turn-end.js";
import { ClientGoneError } from "./upstream-errors.js";

export interface RelayLimits {
  /** Error bodies are buffered to rewrite them; past this many bytes the status's own message is used. */
  readonly maxErrorBodyBytes: number;
  /** Success bodies a response hook asked to read (login answers) are buffered up to this; larger ones stream. */
  readonly maxCapturedBodyBytes: number;
}

// Headers describing a body we replace when we rewrite an error
const BODY_HEADERS = ["content-length", "content-type", "content-encoding", "content-range", "etag", "last-modified"];

/**
 * Sends the backend's answer on. Success bodies stream through untouched; error bodies (>= 400) are read within a
 * bound and rewritten into the API's `{"errors": [...]}` shape. A backend that breaks off mid-body makes the client's
 * connection end at once, never hang with a truncated body.
 */
export async function relay(ctx: RequestContext, reply: UpstreamReply, limits: RelayLimits): Promise<void> {
  const headers = downstreamHeaders(reply.headers);
  Object.assign(headers, ctx.responseHeaders);
  if (reply.status >= 400) return relayError(ctx, reply, headers, limits);

  const large = isLargeBody(reply.headers["content-length"]);
  const hooks = ctx.responseHooks;
  if (hooks.length > 0 && hooks.some((h) => h.wantsBody)) {
    const captured = await readFor(ctx, reply.body, limits.maxCapturedBodyBytes);
    for (const hook of hooks)
      hook.apply({ status: reply.status, headers, ...(captured.complete ? { body: captured.body } : {}) });
    ctx.res.writeHead(reply.status, headers);
    if (captured.complete) {
      ctx.res.end(captured.body);
      return;
    }
    ctx.res.write(captured.body);
  } else {
    for (const hook of hooks) hook.apply({ status: reply.status, headers });
    ctx.res.writeHead(reply.status, headers);
    // nothing has read the body yet: a small one can go out without a stream in between
    if (!large && isDirectBody(reply.body)) return reply.body.sendTo(ctx.res);
    if (!large && arrivedWhole(reply.body)) return endAtTurnEnd(ctx.res, reply.body.read() ?? undefined);
  }
  if (large) scavengeAsItFlows(reply.body);
  await streamBody(reply.body, ctx.res);
}

/**
 * Whether the backend's whole body already waits in a Node response nobody has read (http-proxy's; a small answer
 * usually comes in the packet of its head). Then `read()` takes all of it at once, and the response ends, which
 * hands the backend connection back to the agent: one write to the client, instead of a pipe, its half dozen
 * listeners and a write per chunk.
 */
function arrivedWhole(body: Readable): body is IncomingMessage {
  return (
    body instanceof IncomingMessage &&
    body.complete &&
    body.readableFlowing === null &&
    !body.readableDidRead &&
    !body.destroyed
  );
}

/**
 * Pipes a success body to the client with backpressure. A body that fails or closes before its end destroys the
 * client's connection (a truncated answer must not look complete); a client that goes away stops the body. Written
 * out rather than stream/promises' pipeline, which builds an AbortSignal (and a DOMException) for every request.
 */
function streamBody(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error === undefined) return resolve();
      body.destroy();
      res.destroy();
      reject(error);
    };
    body.once("error", settle);
    body.once("close", () => {
      if (!body.readableEnded) settle(new Error("the backend closed the response before its end"));
    });
    res.once("finish", () => settle());
    res.once("close", () => {
      // nobody's failure: not logged, not counted against the backend
      if (!res.writableFinished) settle(new ClientGoneError());
    });
    body.pipe(res);
  });
}

async function relayError(
  ctx: RequestContext,
  reply: UpstreamReply,
  headers: OutgoingHttpHeaders,
  limits: RelayLimits,
): Promise<void> {
  const captured = await readFor(ctx, reply.body, limits.maxErrorBodyBytes);
  if (!captured.complete) reply.body.destroy(); // the rest is not worth reading: drop the upstream connection
  for (const hook of ctx.responseHooks) hook.apply({ status: reply.status, headers });
  const normalized = normalizeBackendError(
    reply.status,
    reply.headers["content-type"],
    captured.complete ? captured.body : undefined,
  );
  for (const name of BODY_HEADERS) delete headers[name];
  headers["content-type"] = "application/json";
  headers["content-length"] = normalized.body.length;
  ctx.res.writeHead(reply.status, headers);
  ctx.res.end(normalized.body);
}

/**
 * readAtMost for the client of ctx. A client that goes away meanwhile drops the body (and with it the upstream
 * request, which would otherwise run on for nobody); a body that stops for that reason is nobody's failure.
 */
function readFor(ctx: RequestContext, stream: Readable, limit: number): Promise<Captured> {
  const { res } = ctx;
  const drop = () => {
    if (!res.writableFinished) stream.destroy();
  };
  res.once("close", drop);
  return readAtMost(stream, limit).then(
    (captured) => {
      res.off("close", drop);
      return captured;
    },
    (error: unknown) => {
      res.off("close", drop);
      throw res.destroyed ? new ClientGoneError() : error;
    },
  );
}

interface Captured {
  readonly body: Buffer;
  /** False when the body was larger than the bound: `body` then holds what was read so far. */
  readonly complete: boolean;
}

/**
 * Reads a stream until it ends or more than `limit` bytes have been read. In the second case the stream is left
 * paused (not destroyed) so the caller can still send the rest on. A stream that closes before its end rejects.
 */
function readAtMost(stream: Readable, limit: number): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        stream.pause();
        cleanup();
        resolve({ body: Buffer.concat(chunks, size), complete: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ body: Buffer.concat(chunks, size), complete: true });
    };
    // the backend's failure, not ours: a 502 for the client, not an "internal error"
    const onError = (error: Error) => {
      cleanup();
      reject(
        error instanceof GatewayError
          ? error
          : new BadGatewayError("the backend broke off its response", { cause: error }),
      );
    };
    const onClose = () => onError(new BadGatewayError("the backend broke off its response"));
    stream.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}
