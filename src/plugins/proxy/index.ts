import { PayloadTooLargeError } from "../../errors/gateway-error.js";
import { writeError } from "../../errors/normalize.js";
import type { RequestContext } from "../../pipeline/context.js";
import { definePlugin, type Plugin } from "../../pipeline/plugin.js";
import type { ForwardingEngine } from "./engine.js";
import { createUpstreamHeaderBuilder, type UpstreamHeaderOptions } from "./headers.js";
import { type RelayLimits, relay } from "./respond.js";

export type { ForwardingEngine, UpstreamReply } from "./engine.js";
export { httpProxyEngine } from "./engines/http-proxy.js";

export interface ProxyOptions extends UpstreamHeaderOptions, RelayLimits {
  readonly engine: ForwardingEngine;
  /** Request bodies larger than this are refused with 413 (streamed bodies are counted as they pass). */
  readonly maxBodyBytes: number;
}

/** Forwards the request to the backend and relays its answer; the last stage, it always answers. */
export function proxy(options: ProxyOptions): Plugin {
  const buildHeaders = createUpstreamHeaderBuilder(options);
  const { engine } = options;
  return definePlugin({
    name: "proxy",
    async handle(ctx) {
      enforceBodyLimit(ctx, options.maxBodyBytes);
      const target = ctx.query === "" ? ctx.path : `${ctx.path}?${ctx.query}`;
      const backendStartedAt = performance.now();
      const reply = await engine.send(ctx, target, buildHeaders(ctx));
      ctx.logFields.backendMs = Math.round((performance.now() - backendStartedAt) * 10) / 10;
      ctx.logFields.backendStatus = reply.status;
      await relay(ctx, reply, options);
      return "answered" as const;
    },
    close: () => engine.close(),
  });
}

/** A declared length over the limit is refused at once; a chunked body is cut off when it passes the limit. */
function enforceBodyLimit(ctx: RequestContext, maxBytes: number): void {
  const declared = ctx.req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) throw new PayloadTooLargeError();
  if (ctx.req.headers["transfer-encoding"] === undefined) return;
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
}
