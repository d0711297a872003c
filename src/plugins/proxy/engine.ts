import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { RequestContext } from "../../pipeline/context.js";

/** The head of the backend's answer and its body, not yet read. */
export interface UpstreamReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/**
 * A body the engine can send straight to the client's response (its head already written), without a stream in
 * between: undici's. `sendTo` resolves once the response finished, and rejects, with the response destroyed, when the
 * body breaks off or the client goes away. Only for a body nobody has read yet.
 */
export interface DirectBody extends Readable {
  sendTo(res: ServerResponse): Promise<void>;
}

export function isDirectBody(body: Readable): body is DirectBody {
  return typeof (body as Partial<DirectBody>).sendTo === "function";
}

/**
 * What the proxy stage needs from a forwarding engine, and nothing more, so engines can be swapped and held to
 * one conformance suite. `send` forwards `ctx.req` (its body streams) to `target` with exactly `headers`, and
 * resolves once the backend's response head arrived; it rejects with a GatewayError when the backend cannot be
 * reached, resets or times out before answering.
 */
export interface ForwardingEngine {
  readonly name: string;
  send(ctx: RequestContext, target: string, headers: OutgoingHttpHeaders): Promise<UpstreamReply>;
  close(): Promise<void>;
}
