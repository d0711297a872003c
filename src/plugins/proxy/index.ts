import { PayloadTooLargeError } from "../../errors/gateway-error.js";
import { writeError } from "../../errors/normalize.js";
import type { RequestContext } from "../../pipeline/context.js";
import { definePlugin, type Plugin } from "../../pipeline/plugin.js";
import { BackendCooldown } from "./cooldown.js";
import type { ForwardingEngine, UpstreamReply } from "./engine.js";
import { createUpstreamHeaderBuilder, type UpstreamHeaderOptions } from "./headers.js";
import { type RelayLimits, relay } from "./respond.js";
import { isLargeBody, scavengeAsItFlows } from "./scavenge.js";

export type { ForwardingEngine, UpstreamReply } from "./engine.js";
export { httpProxyEngine } from "./engines/http-proxy.js";
export { undiciEngine } from "./engines/undici.js";

export interface ProxyOptions extends UpstreamHeaderOptions, RelayLimits {
  readonly engine: ForwardingEngine;
  /** Request bodies larger than this are refused with 413 (streamed bodies are counted as they pass). */
  readonly maxBodyBytes: number;
  /** After the backend answers 503 (e.g. sealed), answer 503 here for this long instead of forwarding (0: never). */
  readonly unavailableCooldownMs?: number;
}

/** Forwards the request to the backend and relays its answer; the last stage, it always answers. */
export function proxy(options: ProxyOptions): Plugin {
  const buildHeaders = createUpstreamHeaderBuilder(options);
  const { engine } = options;
  const cooldown = new BackendCooldown(options.unavailableCooldownMs ?? 1_000);
  return definePlugin({
    name: "proxy",
    async handle(ctx) {
      cooldown.check(ctx.path);
      enforceBodyLimit(ctx, options.maxBodyBytes);
      const target = ctx.query === "" ? ctx.path : `${ctx.path}?${ctx.query}`;
      const backendStartedAt = performance.now();
      let reply: UpstreamReply;
      try {
        reply = await engine.send(ctx, target, buildHeaders(ctx));
      } catch (error) {
        // the client may still be sending a body nobody reads now: the connection cannot carry another request
        if (!ctx.req.complete) ctx.res.shouldKeepAlive = false;
        throw error;
      }
      ctx.logFields.backendMs = Math.round((performance.now() - backendStartedAt) * 10) / 10;
      ctx.logFields.backendStatus = reply.status;
      cooldown.observe(reply.status);
      try {
        await relay(ctx, reply, options);
      } catch (error) {
        // a body left unread would hold its upstream connection until the backend's timeout
        reply.body.destroy();
        throw error;
      }
      return "answered" as const;
    },
    close: () => engine.close(),
  });
}

/** A declared length over the limit is refused at once; a chunked body is cut off when it passes the limit. */
function enforceBodyLimit(ctx: RequestContext, maxBytes: number): void {
  const declared = ctx.req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) throw new PayloadTooLargeError();
  const chunked = ctx.req.headers["transfer-encoding"] !== undefined;
  if (chunked || (declared !== undefined && isLargeBody(declared))) {
    scavengeAsItFlows(ctx.req);
    ctx.req.pause(); // the listener started the flow, and the engine's reader may come later (as below)
  }
  if (!chunked) return;
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= maxBytes) return;
    ctx.req.off("data", count);
    // the rest of the body is not read, so the connection cannot carry another request
    ctx.res.shouldKeepAlive = false;
    writeError(ctx.res, new PayloadTooLargeError());
    ctx.req.destroy();
  };
  ctx.req.on("data", count);
  // a 'data' listener starts the flow at once; engines that attach their reader later (undici, once a pooled
  // connection is free) would miss the first chunks, so the body waits paused for its reader
  ctx.req.pause();
}
