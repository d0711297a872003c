import type { OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import { type Dispatcher, Pool } from "undici";
import type { RequestContext } from "../../../pipeline/context.js";
import type { ForwardingEngine, UpstreamReply } from "../engine.js";
import { Forward } from "./undici-forward.js";

/** The TLS settings an https upstream is verified with: those of `upstreamTls()` (src/tls/upstream.ts). */
export type UndiciUpstreamTls = Pick<
  ConnectionOptions,
  "ca" | "rejectUnauthorized" | "checkServerIdentity" | "servername" | "minVersion"
>;

export interface UndiciEngineOptions {
  readonly upstream: URL;
  /** How long the backend may take to connect, to send its response head, and between two body chunks. */
  readonly timeoutMs: number;
  /** Most connections held open to the backend (keep-alive); unlimited when not given. */
  readonly connections?: number;
  readonly tls?: UndiciUpstreamTls | undefined;
}

/**
 * The undici engine: one keep-alive `Pool` to the backend, driven through its low-level `dispatch`, so a request
 * costs one handler object (which is also the response body) and no stream adapters.
 * @example
 * const engine = undiciEngine({ upstream: new URL("https://vault:8200"), timeoutMs: 30_000, tls: { ca } });
 */
export function undiciEngine(options: UndiciEngineOptions): ForwardingEngine {
  const { timeoutMs } = options;
  const pool = new Pool(options.upstream.origin, {
    connections: options.connections ?? null,
    // one request at a time per connection: a slow answer must not hold up the ones queued behind it
    pipelining: 1,
    headersTimeout: 0, // the forward's own timer, which is exact (undici-forward.ts)
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    ...(options.tls === undefined ? {} : { connect: connectOptions(options.tls) }),
  });

  return {
    name: "undici",
    send(ctx: RequestContext, target: string, headers: OutgoingHttpHeaders): Promise<UpstreamReply> {
      const { req } = ctx;
      const forward = new Forward();
      const reply = forward.settlement();
      forward.watch(ctx.res, timeoutMs);
      const chunked = headers["transfer-encoding"] !== undefined;
      const length = headers["content-length"];
      // undici writes Host from the pool's origin (as http-proxy's changeOrigin does) and frames the body itself
      headers.host = undefined;
      headers["transfer-encoding"] = undefined;
      pool.dispatch(
        {
          path: target,
          method: req.method ?? "GET",
          headers: headers as NonNullable<Dispatcher.DispatchOptions["headers"]>,
          body: chunked ? chunks(req) : length === undefined || length === "0" ? null : req,
        },
        forward,
      );
      return reply;
    },
    async close() {
      // the listener drained in-flight requests before this; whatever is left must not hold the shutdown open
      await pool.destroy();
    },
  };
}

/**
 * A chunked request body as an async iterable: undici sends a stream whose end it has already seen with a
 * Content-Length, but only chunked-in, chunked-out keeps what the backend sees the same as what the client sent.
 */
function chunks(req: Readable): Readable {
  return req[Symbol.asyncIterator]() as unknown as Readable;
}

function connectOptions(tls: UndiciUpstreamTls): UndiciUpstreamTls {
  // only the verification settings: anything else an https.Agent carries (keepAlive, maxSockets) means other things
  const { ca, rejectUnauthorized, checkServerIdentity, servername, minVersion } = tls;
  return Object.fromEntries(
    Object.entries({ ca, rejectUnauthorized, checkServerIdentity, servername, minVersion }).filter(
      ([, value]) => value !== undefined,
    ),
  );
}
