import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { RequestContext } from "../../pipeline/context.js";

/** The head of the backend's answer and its body, not yet read. */
export interface UpstreamReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
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
