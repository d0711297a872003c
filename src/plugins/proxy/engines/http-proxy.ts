import type {
  ClientRequest,
  Agent as HttpAgent,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import httpProxy from "http-proxy";
import type { GatewayError } from "../../../errors/gateway-error.js";
import type { RequestContext } from "../../../pipeline/context.js";
import type { ForwardingEngine, UpstreamReply } from "../engine.js";
import { ClientGoneError, upstreamError } from "../upstream-errors.js";

export interface HttpProxyEngineOptions {
  readonly upstream: URL;
  readonly agent: HttpAgent | HttpsAgent;
  /** How long the backend may stay silent before the request fails with 503. */
  readonly timeoutMs: number;
  /** Verify the backend's certificate (https upstreams); false only by explicit opt-out. */
  readonly verifyTls: boolean;
}

type WebWithCallback = (req: IncomingMessage, res: ServerResponse, callback: (error: Error) => void) => void;

interface Pending {
  resolve(reply: UpstreamReply): void;
  reject(error: GatewayError): void;
  readonly startedAt: number;
  /** The request to the backend, once http-proxy has opened it. */
  upstream?: ClientRequest;
}

/**
 * The http-proxy engine. Responses are self-handled (the proxy stage relays them), so http-proxy only opens the
 * upstream request and pipes the client's body into it.
 */
export function httpProxyEngine(options: HttpProxyEngineOptions): ForwardingEngine {
  const proxy = httpProxy.createProxyServer({
    target: options.upstream.href,
    agent: options.agent,
    selfHandleResponse: true,
    // forward req.url as it is: the route stage validated it, and http-proxy's legacy url.parse must not re-read it
    toProxy: true,
    changeOrigin: true,
    xfwd: false,
    secure: options.verifyTls,
    proxyTimeout: options.timeoutMs,
  });
  // http-proxy turns a DELETE/OPTIONS with a chunked body into "content-length: 0" and still pipes the body: on a
  // keep-alive upstream connection those bytes become a second, smuggled request. Node frames bodies correctly
  // from the headers we pass, so the pass is dropped.
  const internals = proxy as unknown as { webPasses: Array<{ name: string }> };
  internals.webPasses = internals.webPasses.filter((pass) => pass.name !== "deleteLength");

  const pending = new WeakMap<IncomingMessage, Pending>();
  proxy.on("proxyReq", (proxyReq, req) => {
    const waiting = pending.get(req);
    if (waiting !== undefined) waiting.upstream = proxyReq;
  });
  proxy.on("proxyRes", (proxyRes, req) => {
    const waiting = pending.get(req);
    if (waiting === undefined) return void proxyRes.destroy();
    pending.delete(req);
    waiting.resolve({ status: proxyRes.statusCode ?? 502, headers: proxyRes.headers, body: proxyRes });
  });
  // errors of requests that have no callback (none should) and client resets must never become uncaught
  proxy.on("error", () => {});
  proxy.on("econnreset", (_error, req) => {
    pending.get(req)?.reject(new ClientGoneError());
    pending.delete(req);
  });

  return {
    name: "http-proxy",
    send(ctx: RequestContext, target: string, headers: OutgoingHttpHeaders): Promise<UpstreamReply> {
      return new Promise((resolve, reject) => {
        const { req, res } = ctx;
        const startedAt = performance.now();
        pending.set(req, { resolve, reject, startedAt });
        res.once("close", () => {
          const waiting = pending.get(req);
          if (waiting === undefined) return;
          pending.delete(req);
          // http-proxy aborts only on the request's 'aborted', which a GET whose body was read never emits: the
          // backend would go on working for nobody, and hold its connection, until it answered
          waiting.upstream?.destroy();
          reject(new ClientGoneError());
        });
        req.url = target;
        req.headers = headers as IncomingMessage["headers"];
        // called without per-request options, http-proxy skips copying its options object for every request
        (proxy.web as unknown as WebWithCallback).call(proxy, req, res, (error: Error) => {
          const waiting = pending.get(req);
          if (waiting === undefined) return; // already answered; a later failure is the body relay's to handle
          pending.delete(req);
          const timedOut = performance.now() - waiting.startedAt >= options.timeoutMs;
          waiting.reject(
            res.writableEnded || req.socket.destroyed ? new ClientGoneError() : upstreamError(error, timedOut),
          );
        });
      });
    },
    async close() {
      proxy.close();
    },
  };
}
